// The convict schema of fleetban.json: the single source of every key, its default, format, env name and type.
import type convict from 'convict';

const MiB = 1024 * 1024;

export const schema = {
  store: {
    backend: {
      doc: 'Where bans live: level (the embedded LevelDB store, one server) or redis (Redis Cluster or one Redis server, shared by several fleetban servers; see store.redis).',
      format: ['level', 'redis'],
      default: 'level',
      env: 'FLEETBAN_STORE_BACKEND',
    },
    path: {
      doc: 'Folder of the LevelDB ban store (created if missing). Relative paths are taken from the working directory.',
      format: String,
      default: 'var/lib/fleetban',
      env: 'FLEETBAN_STORE_PATH',
    },
    sync: {
      doc: 'Write every batch with fsync. Off: an acknowledged ban survives a crash of fleetban (kill -9) but not of the machine; on: it survives power loss too, at a cost in ban throughput.',
      format: Boolean,
      default: false,
      env: 'FLEETBAN_STORE_SYNC',
    },
    historyRetention: {
      doc: "How long an attacker's ban history is kept after its last ban (for bantime.increment and recidive).",
      format: 'duration-seconds',
      default: '180d',
      env: 'FLEETBAN_STORE_HISTORY_RETENTION',
    },
    feedRetention: {
      doc: 'How many change-feed entries are kept for agents to resume from; an agent further behind gets a full resync.',
      format: 'positive-int',
      default: 1000000,
      env: 'FLEETBAN_STORE_FEED_RETENTION',
    },
    redis: {
      nodes: {
        doc: 'Redis Cluster seed nodes, "host:port" each (a few are enough: the rest are discovered). Set this or store.redis.address.',
        format: 'redis-nodes',
        default: [],
        env: 'FLEETBAN_REDIS_NODES',
      },
      address: {
        doc: 'One standalone Redis server, "host:port", for small setups without Redis Cluster. Set this or store.redis.nodes.',
        format: 'redis-address',
        default: '',
        env: 'FLEETBAN_REDIS_ADDRESS',
      },
      username: {
        doc: 'Redis ACL user name; empty for the default user.',
        format: String,
        default: '',
        env: 'FLEETBAN_REDIS_USERNAME',
      },
      password: {
        doc: 'Redis password (AUTH); better given through the environment than written in the file.',
        format: String,
        default: '',
        sensitive: true,
        env: 'FLEETBAN_REDIS_PASSWORD',
      },
      keyPrefix: {
        doc: 'Prefix of every key fleetban writes, so that several deployments can share one cluster.',
        format: 'redis-key-prefix',
        default: 'fleetban',
        env: 'FLEETBAN_REDIS_KEY_PREFIX',
      },
      waitReplicas: {
        doc: 'Replicas that must have a ban before it is announced (agents, mail, ban log): WAIT after each write. auto: 1 on Redis Cluster, 0 on a standalone server.',
        format: 'replica-count',
        default: 'auto',
        env: 'FLEETBAN_REDIS_WAIT_REPLICAS',
      },
      waitTimeout: {
        doc: 'How long a write waits for its replicas; past it the ban is announced anyway, logged and counted as not replicated.',
        format: 'duration-seconds',
        default: '1s',
        env: 'FLEETBAN_REDIS_WAIT_TIMEOUT',
      },
      tls: {
        enabled: {
          doc: 'Connect to Redis over TLS.',
          format: Boolean,
          default: false,
          env: 'FLEETBAN_REDIS_TLS',
        },
        ca: {
          doc: "PEM CA bundle that signs the Redis servers' certificates; empty for the system CAs.",
          format: String,
          default: '',
          env: 'FLEETBAN_REDIS_TLS_CA',
        },
        cert: {
          doc: 'PEM client certificate, when Redis requires one (tls-auth-clients).',
          format: String,
          default: '',
          env: 'FLEETBAN_REDIS_TLS_CERT',
        },
        key: {
          doc: 'PEM private key of the client certificate.',
          format: String,
          default: '',
          env: 'FLEETBAN_REDIS_TLS_KEY',
        },
      },
    },
  },
  ingest: {
    udp: {
      enabled: {
        doc: 'Receive syslog over UDP.',
        format: Boolean,
        default: true,
        env: 'FLEETBAN_UDP_ENABLED',
      },
      address: {
        doc: 'Address to bind for UDP (IPv4 or IPv6; "::" for all).',
        format: String,
        default: '127.0.0.1',
        env: 'FLEETBAN_UDP_ADDRESS',
      },
      port: {
        doc: 'UDP port (514 in production).',
        format: 'port-or-zero',
        default: 5514,
        env: 'FLEETBAN_UDP_PORT',
      },
      recvBufferSize: {
        doc: 'Requested UDP receive buffer in bytes. The kernel caps it at 2 x net.core.rmem_max; fleetban warns when it gets less (see packaging/sysctl).',
        format: 'positive-int',
        default: 32 * MiB,
        env: 'FLEETBAN_UDP_RECV_BUFFER_SIZE',
      },
    },
    tcp: {
      enabled: {
        doc: 'Receive syslog over TCP (RFC 6587 octet-counting and LF framing).',
        format: Boolean,
        default: true,
        env: 'FLEETBAN_TCP_ENABLED',
      },
      address: {
        doc: 'Address to bind for TCP.',
        format: String,
        default: '127.0.0.1',
        env: 'FLEETBAN_TCP_ADDRESS',
      },
      port: {
        doc: 'TCP port (514 in production).',
        format: 'port-or-zero',
        default: 5514,
        env: 'FLEETBAN_TCP_PORT',
      },
    },
    relp: {
      enabled: {
        doc: 'Receive syslog over RELP (rsyslog omrelp): each message is acknowledged once processed, so the sender resends what a restart or a cut connection left unanswered.',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_RELP_ENABLED',
      },
      address: {
        doc: 'Address to bind for RELP.',
        format: String,
        default: '127.0.0.1',
        env: 'FLEETBAN_RELP_ADDRESS',
      },
      port: {
        doc: "RELP port (2514 is the one rsyslog's documentation uses).",
        format: 'port-or-zero',
        default: 2514,
        env: 'FLEETBAN_RELP_PORT',
      },
      tls: {
        doc: 'Speak RELP over TLS (rsyslog omrelp tls="on"), with the cert, key, ca and requireClientCert of ingest.tls (which need not be enabled itself).',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_RELP_TLS',
      },
    },
    journal: {
      enabled: {
        doc: 'Receive journal entries from systemd-journal-upload (POST /upload, journal export format): a host forwards its journal with URL=http://this-server:19532 in journal-upload.conf.',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_JOURNAL_ENABLED',
      },
      address: {
        doc: 'Address to bind for journal uploads.',
        format: String,
        default: '127.0.0.1',
        env: 'FLEETBAN_JOURNAL_ADDRESS',
      },
      port: {
        doc: "Journal upload port (19532 is systemd-journal-remote's).",
        format: 'port-or-zero',
        default: 19532,
        env: 'FLEETBAN_JOURNAL_PORT',
      },
      tls: {
        doc: 'Speak HTTPS (URL=https://... in journal-upload.conf), with the cert, key, ca and requireClientCert of ingest.tls (which need not be enabled itself).',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_JOURNAL_TLS',
      },
    },
    tls: {
      enabled: {
        doc: 'Receive syslog over TLS (RFC 5425).',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_TLS_ENABLED',
      },
      address: {
        doc: 'Address to bind for TLS.',
        format: String,
        default: '127.0.0.1',
        env: 'FLEETBAN_TLS_ADDRESS',
      },
      port: {
        doc: 'TLS port (6514 is the IANA port).',
        format: 'port-or-zero',
        default: 6514,
        env: 'FLEETBAN_TLS_PORT',
      },
      cert: {
        doc: 'PEM certificate file of the server (required when TLS is enabled).',
        format: String,
        default: '',
        env: 'FLEETBAN_TLS_CERT',
      },
      key: {
        doc: 'PEM private key file of the server.',
        format: String,
        default: '',
        env: 'FLEETBAN_TLS_KEY',
      },
      ca: {
        doc: 'PEM CA bundle used to verify client certificates.',
        format: String,
        default: '',
        env: 'FLEETBAN_TLS_CA',
      },
      requireClientCert: {
        doc: 'Require a client certificate signed by "ca"; connections without one are refused.',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_TLS_REQUIRE_CLIENT_CERT',
      },
    },
    maxMessageSize: {
      doc: "Largest syslog message in bytes (rsyslog's default is 8 KiB); larger frames are counted and skipped.",
      format: 'positive-int',
      default: 8192,
      env: 'FLEETBAN_MAX_MESSAGE_SIZE',
    },
    maxConnections: {
      doc: 'Most connections open at once on each stream listener (TCP, TLS). When all are taken, the oldest connection that has not yet sent a complete frame is closed to make room; with none such, the new one is refused. Both are counted.',
      format: 'positive-int',
      default: 1024,
      env: 'FLEETBAN_MAX_CONNECTIONS',
    },
    maxConnectionsPerSender: {
      doc: 'Most connections one sender address may hold open on each stream listener; further ones are refused at connect and counted, so one host, even an allowed one, cannot take every slot.',
      format: 'positive-int',
      default: 32,
      env: 'FLEETBAN_MAX_CONNECTIONS_PER_SENDER',
    },
    maxConnectionBuffer: {
      doc: 'Most bytes of incomplete frames held per connection.',
      format: 'positive-int',
      default: 65536,
      env: 'FLEETBAN_MAX_CONNECTION_BUFFER',
    },
    idleTimeout: {
      doc: 'A TCP or TLS connection silent for this long is closed.',
      format: 'duration-seconds',
      default: '1h',
      env: 'FLEETBAN_IDLE_TIMEOUT',
    },
    firstFrameTimeout: {
      doc: 'A TCP or TLS connection that has not delivered one complete message this long after connecting (TLS handshake included) is closed, however many bytes it trickles; 0 disables. A client that connects long before it has anything to send is closed too, and reconnects.',
      format: 'duration-seconds',
      default: '10s',
      env: 'FLEETBAN_FIRST_FRAME_TIMEOUT',
    },
    allowedSenders: {
      doc: 'Senders allowed to feed fleetban (IPs and CIDR prefixes). Empty allows every sender, with a warning at start: syslog is easy to forge, and a forged line can get an admin banned.',
      format: 'cidr-list',
      default: [] as string[],
      env: 'FLEETBAN_ALLOWED_SENDERS',
    },
    maxClockSkew: {
      doc: 'A message whose own time is further than this from the receive time is dated at the receive time.',
      format: 'duration-seconds',
      default: '15m',
      env: 'FLEETBAN_MAX_CLOCK_SKEW',
    },
    maxSenders: {
      doc: 'How many senders the per-sender statistics remember; the least recently seen are forgotten first.',
      format: 'positive-int',
      default: 10000,
      env: 'FLEETBAN_MAX_SENDERS',
    },
    silentAfter: {
      doc: "A sender that has sent logs and then sends nothing for this long is flagged silent: a warning in the log, the gauge fleetban_senders_silent, SILENT in `fleetban senders` and `fleetban status`, and one alert mail to mail.to (under the ban mail's flood control: mail.groupWait, mail.maxPerHour); it is cleared (log line and mail) when it speaks again. An attacker who stops a host's rsyslog first blinds fleetban to that host. Checked every quarter of this time (at most every 30s). 0 turns the watch off. Applies at restart.",
      format: 'duration-seconds',
      default: '15m',
      env: 'FLEETBAN_SILENT_AFTER',
    },
    senders: {
      doc: 'Binds host names to the sender addresses allowed to claim them: {"web-a": ["192.0.2.10", "2001:db8::/64"]}. A line whose HOSTNAME is bound but that arrives from another address is counted as a spoofed-hostname drop and handled as the peer address it came from, so it never feeds a jail whose "hosts" names that host. Names without a binding are taken as sent. Host names compare case-insensitively.',
      format: 'host-bindings',
      default: {} as Record<string, string[]>,
    },
  },
  brake: {
    enabled: {
      doc: 'Ban-rate brake: limit how many jail bans one sender, and the whole fleet, can cause per minute, so one compromised host cannot fill the firewall. Bans past a budget are held for review (fleetban held / release / discard). Manual bans are never braked.',
      format: Boolean,
      default: true,
      env: 'FLEETBAN_BRAKE_ENABLED',
    },
    perSenderPerMinute: {
      doc: 'Jail bans one sender (peer address) may cause per minute; a ban counts against every sender whose failures led to it. Past it, new bans attributed only to senders past their budget are held.',
      format: 'positive-int',
      default: 100,
      env: 'FLEETBAN_BRAKE_PER_SENDER_PER_MINUTE',
    },
    fleetPerMinute: {
      doc: 'Jail bans the whole fleet may cause per minute; past it, every new jail ban is held.',
      format: 'positive-int',
      default: 1000,
      env: 'FLEETBAN_BRAKE_FLEET_PER_MINUTE',
    },
    maxHeld: {
      doc: 'Most bans held for review at once; further ones are discarded and counted (fleetban status).',
      format: 'positive-int',
      default: 100000,
      env: 'FLEETBAN_BRAKE_MAX_HELD',
    },
  },
  jails: {
    dir: {
      doc: 'Folder of jail files (*.json, *.yaml): each maps jail names to their options.',
      format: String,
      default: 'config/jails.d',
      env: 'FLEETBAN_JAILS_DIR',
    },
    fail2banDir: {
      doc: 'fail2ban configuration folder that "filter": "fail2ban:NAME" jails read filter.d/NAME.conf (and .local) from.',
      format: String,
      default: '/etc/fail2ban',
      env: 'FLEETBAN_FAIL2BAN_DIR',
    },
    ignoreip: {
      doc: 'Addresses and prefixes never banned by any jail (each jail may add its own).',
      format: 'cidr-list',
      default: ['127.0.0.0/8', '::1'],
      env: 'FLEETBAN_IGNOREIP',
    },
    maxTrackedAttackers: {
      doc: 'Most attackers whose failures are counted at once over all jails; when full, the least recently seen are dropped and counted.',
      format: 'positive-int',
      default: 200000,
      env: 'FLEETBAN_MAX_TRACKED_ATTACKERS',
    },
    defaults: {
      doc: 'Options every jail starts from (the [DEFAULT] section of fail2ban), in jail syntax: maxretry, findtime, bantime, bantime.increment, banmask, ... Validated by the jail rules (see fleetban-jail(5)); absent keys keep the shipped defaults.',
      format: Object,
      default: {} as Record<string, unknown>,
    },
  },
  neverBan: {
    adminNetworks: {
      doc: "Networks no ban may ever cover, on top of those fleetban always protects (loopback, the server's own and listen addresses, ingest.allowedSenders, the addresses agents connect from): jail bans are narrowed around them, manual bans refused, and stored bans that cover them are withheld from agents, GET /v1/nftables and GET /v1/blocklist.txt.",
      format: 'cidr-list',
      default: [] as string[],
      env: 'FLEETBAN_NEVER_BAN_ADMIN_NETWORKS',
    },
  },
  control: {
    socket: {
      doc: 'Unix socket of the admin API, used by the fleetban CLI (trusted by its file permissions).',
      format: String,
      default: 'var/run/fleetban/admin.sock',
      env: 'FLEETBAN_ADMIN_SOCKET',
    },
    http: {
      enabled: {
        doc: 'Also serve the admin API, /metrics and /healthz over TCP (token required).',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_ADMIN_HTTP_ENABLED',
      },
      address: {
        doc: 'Address of the admin TCP listener.',
        format: String,
        default: '127.0.0.1',
        env: 'FLEETBAN_ADMIN_HTTP_ADDRESS',
      },
      port: {
        doc: 'Port of the admin TCP listener.',
        format: 'port-or-zero',
        default: 9514,
        env: 'FLEETBAN_ADMIN_HTTP_PORT',
      },
      token: {
        doc: 'Bearer token required on the admin TCP listener (required when it is enabled).',
        format: String,
        default: '',
        env: 'FLEETBAN_ADMIN_TOKEN',
        sensitive: true,
      },
    },
  },
  agents: {
    enabled: {
      doc: 'Serve the agent API (ban stream for fleetban agents; GET /v1/nftables and GET /v1/blocklist.txt for gateways, which read them with an agent token or a read-only feed token from fleetban feeds add).',
      format: Boolean,
      default: true,
      env: 'FLEETBAN_AGENTS_ENABLED',
    },
    address: {
      doc: 'Address of the agent API listener; agents on other hosts need a reachable one (and TLS unless the network is private).',
      format: String,
      default: '127.0.0.1',
      env: 'FLEETBAN_AGENTS_ADDRESS',
    },
    port: {
      doc: 'Port of the agent API listener.',
      format: 'port-or-zero',
      default: 5515,
      env: 'FLEETBAN_AGENTS_PORT',
    },
    tls: {
      cert: {
        doc: 'PEM certificate (chain) of the agent API; empty together with key = plain HTTP.',
        format: String,
        default: '',
        env: 'FLEETBAN_AGENTS_TLS_CERT',
      },
      key: {
        doc: 'PEM private key of the agent API certificate.',
        format: String,
        default: '',
        env: 'FLEETBAN_AGENTS_TLS_KEY',
        sensitive: true,
      },
    },
    pingInterval: {
      doc: 'How often an idle agent stream carries a ping line, so both ends notice a dead connection.',
      format: 'duration-seconds',
      default: '15s',
      env: 'FLEETBAN_AGENTS_PING_INTERVAL',
    },
    maxQueued: {
      doc: 'Changes an agent stream may hold unsent before the agent counts as too slow and is disconnected (it then catches up from the change feed).',
      format: 'positive-int',
      default: 10000,
      env: 'FLEETBAN_AGENTS_MAX_QUEUED',
    },
  },
  dashboard: {
    enabled: {
      doc: 'Serve the web dashboard (overview, bans; users from fleetban users add). Sign-in needs a user token.',
      format: Boolean,
      default: true,
      env: 'FLEETBAN_DASHBOARD_ENABLED',
    },
    address: {
      doc: 'Address of the dashboard listener; keep it on loopback or a management network, and use TLS beyond loopback.',
      format: String,
      default: '127.0.0.1',
      env: 'FLEETBAN_DASHBOARD_ADDRESS',
    },
    port: {
      doc: 'Port of the dashboard listener.',
      format: 'port-or-zero',
      default: 9515,
      env: 'FLEETBAN_DASHBOARD_PORT',
    },
    tls: {
      cert: {
        doc: 'PEM certificate (chain) of the dashboard; empty together with key = plain HTTP. With TLS the session cookie is marked Secure.',
        format: String,
        default: '',
        env: 'FLEETBAN_DASHBOARD_TLS_CERT',
      },
      key: {
        doc: 'PEM private key of the dashboard certificate.',
        format: String,
        default: '',
        env: 'FLEETBAN_DASHBOARD_TLS_KEY',
        sensitive: true,
      },
    },
    sessionTtl: {
      doc: 'How long a dashboard sign-in lasts; the session then ends and the user signs in again with the token.',
      format: 'duration-seconds',
      default: '12h',
      env: 'FLEETBAN_DASHBOARD_SESSION_TTL',
    },
  },
  apiAuth: {
    maxFailures: {
      doc: 'Failed token attempts one source (an IPv4 address or an IPv6 /64) may make on the agent API, the admin TCP listener or the dashboard sign-in within apiAuth.window; its next requests are answered 429 with Retry-After, without their token being checked, until the window has passed.',
      format: 'positive-int',
      default: 20,
      env: 'FLEETBAN_API_AUTH_MAX_FAILURES',
    },
    window: {
      doc: 'How long failed token attempts count towards apiAuth.maxFailures, and how long a source that reached it is refused.',
      format: 'duration-seconds',
      default: '1m',
      env: 'FLEETBAN_API_AUTH_WINDOW',
    },
    maxSources: {
      doc: 'Sources with failed token attempts tracked at once per listener; past that the least recently failing one is forgotten, so memory stays bounded however many addresses an attacker uses.',
      format: 'positive-int',
      default: 10000,
      env: 'FLEETBAN_API_AUTH_MAX_SOURCES',
    },
    logInterval: {
      doc: 'Failed token attempts are logged once when the first comes, then as one summary per interval (attempts, sources, the busiest sources) instead of one line each.',
      format: 'duration-seconds',
      default: '1m',
      env: 'FLEETBAN_API_AUTH_LOG_INTERVAL',
    },
  },
  mail: {
    enabled: {
      doc: 'Send mail about bans (through the persistent outbox: a mail server that is down loses nothing).',
      format: Boolean,
      default: false,
      env: 'FLEETBAN_MAIL_ENABLED',
    },
    transport: {
      doc: 'How mail leaves: "smtp" (mail.smtp.*) or the local "sendmail" binary (mail.sendmail.path).',
      format: ['smtp', 'sendmail'],
      default: 'smtp',
      env: 'FLEETBAN_MAIL_TRANSPORT',
    },
    from: {
      doc: 'Sender address of ban mail.',
      format: String,
      default: 'fleetban@localhost',
      env: 'FLEETBAN_MAIL_FROM',
    },
    to: {
      doc: 'Recipients of ban mail for every jail whose "notify" is "default" (a jail may name its own list, or "off"). Required when mail is enabled. In the environment: comma separated.',
      format: Array,
      default: [] as string[],
      env: 'FLEETBAN_MAIL_TO',
    },
    smtp: {
      host: {
        doc: 'SMTP server (a relay or smarthost).',
        format: String,
        default: 'localhost',
        env: 'FLEETBAN_SMTP_HOST',
      },
      port: {
        doc: 'SMTP port: 25 or 587 with STARTTLS, 465 with "secure".',
        format: 'port-or-zero',
        default: 25,
        env: 'FLEETBAN_SMTP_PORT',
      },
      secure: {
        doc: 'Implicit TLS from the first byte (port 465). Off: plain SMTP, upgraded with STARTTLS when the server offers it.',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_SMTP_SECURE',
      },
      requireTLS: {
        doc: 'Refuse to send unless STARTTLS succeeds (recommended whenever mail.smtp.user is set and secure is off).',
        format: Boolean,
        default: false,
        env: 'FLEETBAN_SMTP_REQUIRE_TLS',
      },
      user: {
        doc: 'SMTP AUTH user name; empty = no authentication.',
        format: String,
        default: '',
        env: 'FLEETBAN_SMTP_USER',
      },
      pass: {
        doc: 'SMTP AUTH password. Better given in the environment (FLEETBAN_SMTP_PASS) than in the file; never logged or shown.',
        format: String,
        default: '',
        env: 'FLEETBAN_SMTP_PASS',
        sensitive: true,
      },
      tls: {
        rejectUnauthorized: {
          doc: "Verify the SMTP server's certificate. Turn off only for a relay with a self-signed certificate on a trusted network; better set mail.smtp.tls.ca.",
          format: Boolean,
          default: true,
          env: 'FLEETBAN_SMTP_TLS_REJECT_UNAUTHORIZED',
        },
        ca: {
          doc: "PEM CA file that signs the SMTP server's certificate; empty = the system's CAs.",
          format: String,
          default: '',
          env: 'FLEETBAN_SMTP_TLS_CA',
        },
      },
    },
    sendmail: {
      path: {
        doc: 'The sendmail binary used when mail.transport is "sendmail".',
        format: String,
        default: '/usr/sbin/sendmail',
        env: 'FLEETBAN_SENDMAIL_PATH',
      },
    },
    groupWait: {
      doc: 'After a mail, further bans are gathered this long into one digest (the first ban after a quiet spell is mailed at once).',
      format: 'duration-seconds',
      default: '1m',
      env: 'FLEETBAN_MAIL_GROUP_WAIT',
    },
    groupThreshold: {
      doc: 'A digest is sent at once when this many bans wait, without waiting for mail.groupWait.',
      format: 'positive-int',
      default: 50,
      env: 'FLEETBAN_MAIL_GROUP_THRESHOLD',
    },
    maxPerHour: {
      doc: 'Most mails in any hour (per recipient list), silent-sender alerts to mail.to included. Beyond it, bans (and alerts) are held and one "N more bans suppressed" summary follows when the hour allows. Send times are kept in the store, so the cap holds across restarts.',
      format: 'positive-int',
      default: 12,
      env: 'FLEETBAN_MAIL_MAX_PER_HOUR',
    },
    onUnban: {
      doc: 'Also mail when a ban ends or is lifted (digested and capped like bans).',
      format: Boolean,
      default: false,
      env: 'FLEETBAN_MAIL_ON_UNBAN',
    },
    lifecycle: {
      doc: 'Mail when the server starts and stops.',
      format: Boolean,
      default: false,
      env: 'FLEETBAN_MAIL_LIFECYCLE',
    },
    retryMin: {
      doc: 'Wait before the first retry when the mail server fails; doubled after each failure up to mail.retryMax.',
      format: 'duration-seconds',
      default: '5s',
      env: 'FLEETBAN_MAIL_RETRY_MIN',
    },
    retryMax: {
      doc: 'Longest wait between two retries.',
      format: 'duration-seconds',
      default: '10m',
      env: 'FLEETBAN_MAIL_RETRY_MAX',
    },
    timeZone: {
      doc: 'Time zone of the times in mail (an IANA name such as "Europe/Berlin" or "UTC"); empty = the machine\'s zone.',
      format: String,
      default: '',
      env: 'FLEETBAN_MAIL_TIME_ZONE',
    },
  },
  notify: {
    webhooks: {
      doc: 'HTTP endpoints told of bans, beside mail: a list of {"url": "https://…", "format": "json" | "slack" | "mattermost" (default json), "secret": sent as the X-Fleetban-Secret header, "hmac": key of X-Fleetban-Signature: sha256=<HMAC-SHA256 of the body>, "ca": PEM file of a private CA that signs the certificate of an https receiver (instead of the system CAs), "events": ["ban"] (default) or ["ban", "unban"]}. Each follows the change feed from its own position (a file in the "webhooks" folder inside store.path), retried while the receiver is down or answers 5xx or 429; a 4xx, or a redirect (3xx, not followed), is logged and dropped. Delivery is at least once: X-Fleetban-Delivery names the sequence numbers carried, so a receiver can drop a repeat. Jails with notify "off" and manual bans are not sent.',
      format: 'webhook-list',
      default: [] as Readonly<Record<string, unknown>>[],
      env: 'FLEETBAN_NOTIFY_WEBHOOKS',
    },
    groupWait: {
      doc: 'After a webhook POST, further events are gathered this long into one POST (the first event after a quiet spell goes at once). 0: each at once.',
      format: 'duration-seconds',
      default: '10s',
      env: 'FLEETBAN_NOTIFY_GROUP_WAIT',
    },
    groupThreshold: {
      doc: 'A gathered webhook POST goes at once when this many events wait, without waiting for notify.groupWait.',
      format: 'positive-int',
      default: 50,
      env: 'FLEETBAN_NOTIFY_GROUP_THRESHOLD',
    },
    maxPerHour: {
      doc: 'Most POSTs per webhook in any hour. Beyond it, events are held and go out together in one summary POST when the hour allows (json carries every event; Slack and Mattermost show the first 20 and a count). Kept in the position file, so the cap holds across restarts.',
      format: 'positive-int',
      default: 120,
      env: 'FLEETBAN_NOTIFY_MAX_PER_HOUR',
    },
    retryMin: {
      doc: 'Wait before the first retry when a webhook fails; doubled after each failure up to notify.retryMax.',
      format: 'duration-seconds',
      default: '5s',
      env: 'FLEETBAN_NOTIFY_RETRY_MIN',
    },
    retryMax: {
      doc: 'Longest wait between two retries of a webhook.',
      format: 'duration-seconds',
      default: '10m',
      env: 'FLEETBAN_NOTIFY_RETRY_MAX',
    },
    timeout: {
      doc: 'A webhook request that takes longer is abandoned and retried.',
      format: 'duration-seconds',
      default: '10s',
      env: 'FLEETBAN_NOTIFY_TIMEOUT',
    },
  },
  log: {
    level: {
      doc: 'Log level of the structured (pino) log on stdout.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'FLEETBAN_LOG_LEVEL',
    },
    banLog: {
      doc: 'File that receives fail2ban-style lines ("... NOTICE  [sshd] Ban 203.0.113.7") for grep and other tools (the recidive jail reads the ban store, not this file); empty for none.',
      format: String,
      default: '',
      env: 'FLEETBAN_BAN_LOG',
    },
  },
} as const;

/** What each custom format (formats.ts) leaves in the config once coerced and validated. */
export interface CustomFormatValues {
  readonly 'duration-seconds': number;
  readonly 'positive-int': number;
  readonly 'port-or-zero': number;
  readonly 'cidr-list': readonly string[];
  readonly 'host-bindings': Readonly<Record<string, readonly string[]>>;
  readonly 'redis-nodes': readonly string[];
  readonly 'redis-address': string;
  readonly 'redis-key-prefix': string;
  readonly 'replica-count': number | 'auto';
  readonly 'webhook-list': readonly Readonly<Record<string, unknown>>[];
}

/** The value type a schema `format` admits; `Custom` types the named formats. */
type FormatValue<F, Custom> = F extends StringConstructor
  ? string
  : F extends BooleanConstructor
    ? boolean
    : F extends NumberConstructor
      ? number
      : F extends ArrayConstructor
        ? readonly string[]
        : F extends ObjectConstructor
          ? Readonly<Record<string, unknown>>
          : F extends readonly (infer Choice)[]
            ? Choice
            : F extends keyof Custom
              ? Custom[F]
              : never;

/** The validated values of a schema: one readonly field per key, typed by its format. */
export type SchemaValues<S, Custom = CustomFormatValues> = {
  readonly [K in keyof S]: S[K] extends { readonly format: infer F; readonly default: unknown }
    ? FormatValue<F, Custom>
    : SchemaValues<S[K], Custom>;
};

/** fleetban.json once loaded: derived from the schema, so the two cannot drift apart. */
export type ConfigValues = SchemaValues<typeof schema>;

/**
 * A validated convict config's values, typed from the schema's formats. convict types values by
 * their defaults (`"10m"`, a string), while the formats' coercions decide them (600 seconds): this
 * is the one place where the two types meet. `S` is the schema's type (`typeof schema`).
 */
export function valuesOf<S, Custom = CustomFormatValues>(
  config: Pick<convict.Config<unknown>, 'getProperties'>,
): SchemaValues<S, Custom> {
  return config.getProperties() as SchemaValues<S, Custom>;
}
