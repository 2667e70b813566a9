/**
 * Credentials per attempt: a fixed API key header, or an OAuth 2.0 client-credentials token.
 *
 * The token is fetched on the first API call, not when the client is built, so that building a
 * client never does I/O; it is renewed shortly before it expires so that no request is sent
 * with a token that dies in flight; concurrent calls share one token request.
 */

import type { Credentials } from "./config.js";
import { AuthenticationError, TollgateError } from "./errors.js";
import { parseJson, type Authenticator, type Call } from "./http.js";

/** Renew this many ms before expiry (at most half the token's lifetime, so a short-lived token is still reused). */
export const REFRESH_MARGIN = 60_000;

export class ApiKeyAuth implements Authenticator {
  constructor(private readonly apiKey: string) {}

  async headers(): Promise<Record<string, string>> {
    return { "x-api-key": this.apiKey };
  }

  invalidate(): boolean {
    return false; // a refused key stays refused
  }
}

interface Token {
  value: string;
  /** performance.now() after which the token is renewed before use. */
  refreshAt: number;
}

type OAuthCredentials = Extract<Credentials, { kind: "oauth" }>;

export class OAuthAuth implements Authenticator {
  private token: Token | undefined;
  private pending: Promise<Token> | undefined;

  constructor(
    private readonly credentials: OAuthCredentials,
    private readonly send: (call: Call<Token>) => Promise<Token>,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  async headers(): Promise<Record<string, string>> {
    let token = this.token;
    if (token === undefined || this.clock() >= token.refreshAt) {
      this.pending ??= this.fetchToken().finally(() => {
        this.pending = undefined;
      });
      token = await this.pending;
    }
    return { authorization: `Bearer ${token.value}` };
  }

  invalidate(refused: Record<string, string>): boolean {
    // Drop the refused token unless another call already replaced it.
    if (this.token && refused.authorization === `Bearer ${this.token.value}`) this.token = undefined;
    return true;
  }

  private async fetchToken(): Promise<Token> {
    try {
      this.token = await this.send(this.tokenCall());
      return this.token;
    } catch (error) {
      // RFC 6749 refusals (invalid_client, invalid_scope, ...) come as 400 or 401: both mean
      // these credentials cannot be used. Server errors stay what they are.
      if (error instanceof TollgateError && (error.status === 400 || error.status === 401) && !(error instanceof AuthenticationError)) {
        throw new AuthenticationError(error.message, {
          status: error.status,
          code: error.code,
          details: error.details,
          requestId: error.requestId,
          cause: error,
        });
      }
      throw error;
    }
  }

  /** `POST /oauth/token` with HTTP Basic (RFC 6749 section 2.3.1: id and secret form-encoded before base64). */
  private tokenCall(): Call<Token> {
    const { clientId, clientSecret, scope } = this.credentials;
    const pair = `${formEncode(clientId)}:${formEncode(clientSecret)}`;
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (scope) form.set("scope", scope);
    return {
      method: "POST",
      path: "/oauth/token",
      headers: {
        authorization: `Basic ${Buffer.from(pair).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: form.toString(),
      authenticate: false,
      replayable: true, // issuing a token changes nothing on the server
      parse: (text) => this.tokenFrom(text),
    };
  }

  private tokenFrom(text: string): Token {
    const body = parseJson<{ access_token?: unknown; expires_in?: unknown } | undefined>(text);
    if (typeof body?.access_token !== "string" || !body.access_token) {
      throw new AuthenticationError("the token endpoint answered without an access_token");
    }
    const lifetime = (typeof body.expires_in === "number" ? body.expires_in : 3600) * 1000;
    const margin = Math.min(REFRESH_MARGIN, lifetime / 2);
    return { value: body.access_token, refreshAt: this.clock() + lifetime - margin };
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
