import { processIO } from "./io.js";
import { runCli } from "./run.js";

// The `pusher` command (bin/pusher.js imports this).
const code = await runCli(process.argv.slice(2), processIO());
// `start` hands the process to the server, which decides when to exit; every other command ends here.
if (process.argv[2] !== "start") process.exitCode = code;
