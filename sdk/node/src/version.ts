/** The package version, sent in the User-Agent. A test checks it equals package.json's. */
export const VERSION = "0.2.0";
