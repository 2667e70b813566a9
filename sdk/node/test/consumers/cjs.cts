// A CommonJS consumer of the installed package: compiled by tsc (types of the "require"
// condition) and run by node.
import { Client, NotFoundError, TollgateError, VERSION, type Resource } from "@tollgate/sdk";

const client = new Client({ apiKey: "tgk_x", endpoint: "http://127.0.0.1:9" });
const check: (r: Resource) => string = (r) => r.id;
if (typeof check !== "function" || !(new NotFoundError("x") instanceof TollgateError)) throw new Error("bad require");
console.log(`cjs ok ${VERSION} ${client.endpoint}`);
