/** The text of `pusher --help`. */
export const USAGE = `Usage: pusher <command> [options]

Commands:
  start                         Run the server (primary + workers) in the foreground
  config check [file]           Validate the configuration (file: checked as PUSHER_CONFIG)
                                and print it, secrets redacted; exit 1 on an error
  config doc [--json]           Print every setting: key, env variable, default, doc
  publish --channel C --event E --data JSON [--id ID] [--url URL] [--key KEY]
                                POST /v1/publish and print the response; exit 1 unless 2xx
                                (--channel may repeat; --url defaults to
                                http://127.0.0.1:<server.port>, --key to $PUSHER_API_KEY
                                or the first of auth.apiKeys)
  sentinel status [--json]      Ask every sentinel in redis.sentinels for the master of
                                redis.name, its replicas, the other sentinels and
                                SENTINEL CKQUORUM; exit 1 when none answers or quorum fails
  sentinel prune                Make the sentinels forget dead replicas and sentinels:
                                SENTINEL RESET on one sentinel at a time, each given 30 s to
                                see the live replicas, its fellows and quorum again before
                                the next; refuses unless all answer and quorum holds

Options:
  -h, --help                    Show this help

Configuration: config/<NODE_ENV>.json, then the file named by $PUSHER_CONFIG, then PUSHER_*
variables (see \`pusher config doc\` and docs/configuration.md).
`;
