import { configCheck } from "./config-check.js";
import { configDoc } from "./config-doc.js";
import { EXIT_OK, EXIT_USAGE, UsageError, type CliIO } from "./io.js";
import { publishCommand } from "./publish.js";
import { sentinelCommand } from "./sentinel.js";
import { startServer } from "./start.js";
import { USAGE } from "./usage.js";

function isHelp(arg: string | undefined): boolean {
  return arg === undefined || arg === "-h" || arg === "--help" || arg === "help";
}

/** Runs one command line (without node and the script) and gives the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (isHelp(command)) {
      io.out(USAGE);
      return command === undefined ? EXIT_USAGE : EXIT_OK;
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(USAGE);
      return EXIT_OK;
    }
    switch (command) {
      case "start":
        if (rest.length > 0) throw new UsageError("start takes no arguments (configure with PUSHER_* or PUSHER_CONFIG)");
        await startServer();
        return EXIT_OK;
      case "config": {
        const [sub, ...args] = rest;
        if (sub === "check") return configCheck(args, io);
        if (sub === "doc") return configDoc(args, io);
        throw new UsageError(sub === undefined ? "config needs check or doc" : `unknown config command "${sub}"`);
      }
      case "publish":
        return await publishCommand(rest, io);
      case "sentinel":
        return await sentinelCommand(rest, io);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    // node:util parseArgs reports unknown or malformed options with ERR_PARSE_ARGS_* codes.
    const code = (err as { code?: string }).code ?? "";
    if (!(err instanceof UsageError) && !code.startsWith("ERR_PARSE_ARGS")) throw err;
    io.err(`pusher: ${(err as Error).message}\n`);
    io.err(USAGE);
    return EXIT_USAGE;
  }
}
