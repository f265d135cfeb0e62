// pm2 process file for one pusher host. ESM because package.json says "type": "module": pm2 loads
// it with require(), and on Node >= 20.19 require(esm) returns the module namespace, whose `apps`
// pm2 reads.
//
// One app in fork mode: pusher's own primary forks the workers and routes connections stickily;
// pm2 cluster mode would route long-polling requests without affinity ("Session ID unknown").
export const apps = [
  {
    name: "pusher",
    script: "dist/src/main.js",
    cwd: import.meta.dirname,
    exec_mode: "fork",
    instances: 1,
    // The primary sends process.send("ready") once its workers serve; pm2 waits for it.
    wait_ready: true,
    listen_timeout: 30000,
    // Nested deadlines: shutdown.deadlineMs (10 s) < kill_timeout (15 s) < systemd TimeoutStopSec (30 s).
    // After kill_timeout pm2 SIGKILLs the whole tree, so it must outlast the drain.
    kill_timeout: 15000,
    max_memory_restart: "1G",
    env: {
      NODE_ENV: "production",
    },
    out_file: "/var/log/pusher/out.log",
    error_file: "/var/log/pusher/error.log",
    // Primary and workers write to the same stdout; every JSON line carries role and worker id.
    merge_logs: true,
    time: false,
  },
];
