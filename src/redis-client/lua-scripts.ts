import type { Redis } from "ioredis";

/** A script's Lua, alone when all its arguments are ARGV, or with how many of them are keys. */
export type LuaScript = string | { lua: string; numberOfKeys?: number };

export type LuaRunner<Name extends string> = (name: Name, args: (string | number)[]) => Promise<unknown>;

/**
 * Registers scripts on a client under their names. ioredis sends EVALSHA and falls back to EVAL on
 * NOSCRIPT, so a new master after a failover loads them again by itself. A definition without
 * numberOfKeys takes the key count as its first argument.
 */
export function registerScripts<Name extends string>(client: Redis, scripts: Record<Name, LuaScript>): LuaRunner<Name> {
  for (const [name, script] of Object.entries<LuaScript>(scripts)) client.defineCommand(name, typeof script === "string" ? { numberOfKeys: 0, lua: script } : script);
  const commands = client as unknown as Record<Name, (...args: (string | number)[]) => Promise<unknown>>;
  return (name, args) => commands[name](...args);
}
