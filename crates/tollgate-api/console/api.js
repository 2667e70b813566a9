// The console's only way to the server: the public API, with the signed-in credential in the
// Authorization header. The secret lives in this module's objects, in the tab's memory only:
// never in localStorage, sessionStorage, a cookie or the URL, so a reload signs out.

/** A failed call: the error envelope's code, message, details and request id. */
export class ApiError extends Error {
  constructor(status, body, requestId) {
    const error = (body && body.error) || {};
    super(error.message || body?.error_description || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || body?.error || 'HTTP_' + status;
    this.details = error.details || {};
    this.requestId = error.request_id || requestId || '';
  }
}

/** One signed-in credential: an API key, or an OAuth client whose token is fetched on demand. */
export class Session {
  /** `{kind: 'key', secret}` or `{kind: 'client', clientId, secret}`. */
  constructor(credential) {
    this.credential = credential;
    this.token = null;
    this.tokenExpires = 0;
    this.project = null;
    this.who = '';
  }

  async authorization() {
    if (this.credential.kind === 'key') return `Bearer ${this.credential.secret}`;
    if (!this.token || Date.now() > this.tokenExpires - 30_000) await this.exchange();
    return `Bearer ${this.token}`;
  }

  /** Exchanges the client id and secret at /oauth/token (client credentials grant). */
  async exchange() {
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: this.credential.clientId,
      client_secret: this.credential.secret,
    });
    const res = await fetch('/oauth/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form,
      credentials: 'omit',
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, body, res.headers.get('x-request-id'));
    this.token = body.access_token;
    this.tokenExpires = Date.now() + (body.expires_in || 300) * 1000;
  }

  /** Calls the API; resolves to `{status, headers, body}` or throws an ApiError. */
  async call(method, path, { body, headers = {}, contentType = 'application/json' } = {}) {
    const init = {
      method,
      headers: { Authorization: await this.authorization(), ...headers },
      credentials: 'omit',
      cache: 'no-store',
    };
    if (body !== undefined) {
      init.headers['Content-Type'] = contentType;
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const text = await res.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) throw new ApiError(res.status, parsed, res.headers.get('x-request-id'));
    return { status: res.status, headers: res.headers, body: parsed };
  }

  get(path) {
    return this.call('GET', path).then((r) => r.body);
  }

  /**
   * Reads a Server-Sent Events answer with fetch (EventSource cannot send the Authorization
   * header), calling `onEvent({id, type, data})` per event until `signal` aborts.
   */
  async stream(path, onEvent, signal) {
    const res = await fetch(path, {
      headers: { Authorization: await this.authorization(), Accept: 'text/event-stream' },
      credentials: 'omit',
      cache: 'no-store',
      signal,
    });
    if (!res.ok) {
      const body = await res.json().catch(() => null);
      throw new ApiError(res.status, body, res.headers.get('x-request-id'));
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { id: '', type: 'message', data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const field = i < 0 ? line : line.slice(0, i);
          const val = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          if (field === 'id') event.id = val;
          else if (field === 'event') event.type = val;
          else if (field === 'data') event.data += (event.data ? '\n' : '') + val;
        }
        if (event.data) onEvent(event);
      }
    }
  }
}
