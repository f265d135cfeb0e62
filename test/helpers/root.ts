import path from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (tests run compiled, from dist/test/helpers/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

