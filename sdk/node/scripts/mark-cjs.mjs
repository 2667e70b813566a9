// Marks dist/cjs as CommonJS: the package is "type": "module", so without this nearest
// package.json Node would read dist/cjs/*.js (and TypeScript dist/cjs/*.d.ts) as ES modules.
import { writeFileSync } from "node:fs";

writeFileSync(new URL("../dist/cjs/package.json", import.meta.url), JSON.stringify({ type: "commonjs" }) + "\n");
