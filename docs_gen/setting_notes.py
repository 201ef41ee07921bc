"""What each setting means, in a line, for the settings reference.

Its name, type, default and accepted range come from core/config.py and core/config_checks.py
itself; a setting with no line here (or a line for a setting that is gone)
stops the docs build, so a new setting is documented when it is added.
"""

NOTES = {
    "api_port": "Where `make run`'s proxy (nginx) listens: the API as clients reach it.",
    "gateway_port": "Where the locally started fake gateway listens.",
    "flower_port": "Where `make run`'s Flower listens (also under `/flower/` on the proxy).",
    "redis_port": "The port of the Redis that `make run` starts when `REDIS_URL` is empty.",
    "mongo_port": "The port of the MongoDB-protocol server that `make run` starts when `MONGO_URL` is empty.",
    "data_dir": "Where the locally started stores keep their data (`redis/`, `mongo/`) and the parts their logs.",
    "redis_url": "The Redis that holds the broker's queues and every delivery's state: `redis://`, `rediss://` "
                 "(TLS) or `sentinel://` (see Several hosts). Empty: the local one on `REDIS_PORT`.",
    "mongo_url": "The MongoDB that holds users, tokens and contacts; a replica set or `mongodb+srv://` works. "
                 "Empty: the local one on `MONGO_PORT`.",
    "mongo_db": "The MongoDB database the service uses.",
    "redis_prefix": "Put before every Redis key the service writes, so one Redis can hold other data too.",
    "timezone": "The service's time zone: the original API's `time`, and contacts without a zone of their own.",
    "auth_mode": "`token`: every request needs a Bearer token. `none`: the original endpoints know users by "
                 "`user_name` alone, as the original service did (`/api/v1` still needs a token).",
    "max_body_bytes": "The largest request body; a longer one is a 413 before it is read (nginx and the API).",
    "max_import_bytes": "The same for `POST /api/v1/contacts/import` alone: 100,000 contacts are 7-20 MB.",
    "max_import_contacts": "Contacts one import may hold.",
    "api_rate": "Requests a second per token (per `user_name` with `AUTH_MODE=none`). 0 lifts every request "
                "limit, the user's and the failed authentications' too.",
    "api_burst": "Requests a token may make at once beyond `API_RATE`'s pace.",
    "api_user_rate": "Requests a second for all of one user's tokens together; 0: no such limit.",
    "api_user_burst": "Requests a user may make at once beyond `API_USER_RATE`'s pace.",
    "auth_failure_rate": "Failed authentications (401s) a second from one client address; past it a 429. 0: no limit.",
    "auth_failure_burst": "Failed authentications one address may have at once beyond that pace.",
    "console_session_hours": "How long a web console sign-in lasts; signing out ends it sooner. "
                             "A wrong password counts as a failed authentication.",
    "trusted_proxies": "Proxies whose `X-Real-IP` header names the client (the local nginx is on loopback; "
                       "docker-compose.yml sets Docker's private networks).",
    "public_ops_endpoints": "Whether the proxy passes `GET /readyz` and `/metrics` on (`/healthz` always); "
                            "docker-compose.yml sets false.",
    "max_recipients": "Contacts one send may name.",
    "max_open_deliveries": "Unfinished deliveries one user may have; a send past it is a 429.",
    "template_render_budget": "CPU seconds one template rendering (one contact) may take; past it the send is a 422.",
    "template_send_budget": "CPU seconds all of one send's renderings may take together.",
    "send_deadline": "A send not ready to be written this long after its request began writes nothing and "
                     "answers 503 (nginx gives up at 60 s).",
    "gateway_url": "Where the fake gateway is. Empty: the local one on `GATEWAY_PORT`.",
    "delivery_queue": "The broker's main queue; the bulk lane is this name plus `.bulk`, people's texts `.inbound`.",
    "bulk_threshold": "A send of more deliveries than this goes to the bulk lane, read in turn with the main one.",
    "max_attempts": "Attempts per delivery before it fails for good and goes to the failed store.",
    "retry_backoff": "The first wait before a retry, in seconds; it doubles with each attempt, with jitter.",
    "retry_backoff_max": "The longest wait between two attempts (a messenger's `Retry-After` is honoured).",
    "http_connect_timeout": "Seconds to connect to a messenger.",
    "http_read_timeout": "Seconds to wait for a messenger's answer.",
    "schedule_horizon": "Deliveries due later than this many seconds wait in Redis, not in a worker's memory.",
    "visibility_timeout": "Celery's own safety net: a dead worker's unacknowledged task is handed out again "
                          "after this long (the schedule brings deliveries back long before).",
    "restore_interval": "How often, in seconds, a worker looks for dead workers' unacknowledged tasks to restore.",
    "scheduler_interval": "How often, in seconds, the scheduler looks for due recurring sends.",
    "recovery_grace": "A delivery no worker claimed this long after its due time (or after its lease ran out) "
                      "is handed to Celery again.",
    "schedule_grace": "A recurring send's run found later than this (everything was down) is skipped and counted.",
    "claim_margin": "A worker's claim on a delivery lasts the two HTTP timeouts plus this.",
    "retention_days": "Finished messages with their deliveries, and failed records, are deleted this long after.",
    "worker_pool": "The Celery pool of each worker process.",
    "worker_concurrency": "Threads (or children) per worker process.",
    "worker_processes": "Worker processes `make run` starts; 0: one per CPU core.",
    "worker_events": "Celery task events for monitors; Flower turns them on in each worker it reaches.",
    "flower_basic_auth": "`user:password` that Flower asks for. Empty: no login, and Flower's JSON API and "
                         "control buttons answer 401.",
    "worker_nice": "Added to each worker process's nice value, and to its session's where it leads one (with "
                   "Linux's autogrouping the CPU is shared between sessions first), so API requests get the CPU "
                   "first.",
    "store_timeout": "Seconds to wait for Redis or MongoDB before a request answers 503.",
    "log_level": "The level of the JSON log lines every part writes.",
    "cli_server": "The API the CLI talks to (also `DISPATCHER_URL` or `--server`). Empty: `make run`'s proxy.",
    "messenger_api": "`simple`: the fake gateway's own `{to, text}` shape. `real`: each messenger's own API "
                     "(the fake gateway imitates all three).",
    "telegram_api_url": "Telegram's Bot API (`https://api.telegram.org`). Empty: the fake gateway.",
    "telegram_bot_token": "The token @BotFather gave the bot.",
    "whatsapp_api_url": "The WhatsApp Cloud API (`https://graph.facebook.com`). Empty: the fake gateway.",
    "whatsapp_api_version": "The Graph API version in WhatsApp's URLs.",
    "whatsapp_phone_number_id": "The business phone number's id.",
    "whatsapp_token": "A system user's access token for WhatsApp messaging and management.",
    "whatsapp_business_account_id": "The WhatsApp Business Account whose message templates sends may name.",
    "viber_api_url": "Viber's REST API (`https://chatapi.viber.com`). Empty: the fake gateway.",
    "viber_auth_token": "The Viber bot's token; it also signs Viber's callbacks.",
    "viber_sender_name": "The sender name Viber shows.",
    "whatsapp_app_secret": "The Meta app's secret, which signs WhatsApp's callbacks. The default is public: set it.",
    "whatsapp_verify_token": "A secret of your choosing that Meta's webhook subscription check sends back.",
    "telegram_updates": "How the bot hears people: `webhook` (Telegram posts to `/webhooks/telegram`) or "
                        "`poll` (the poller part calls `getUpdates`).",
    "telegram_webhook_secret": "The secret Telegram sends with each update; the default is public: set it.",
    "telegram_bot_username": "The bot's username (no `@`), for invite links.",
    "viber_chat_uri": "The Viber bot's chat URI, for invite links.",
    "whatsapp_number": "The WhatsApp business number (digits), for invite links.",
    "invite_ttl_days": "Days an invite's codes bind (each once).",
    "await_contact_days": "Real mode: days a Telegram delivery to a contact without a chat id waits "
                          "(`awaiting_contact`) before it fails.",
    "invite_joined_reply": "What the bot answers a person whose invite code bound their contact.",
    "invite_invalid_reply": "What the bot answers a person whose code was used, expired or unknown.",
    "inbox_keep": "Texts kept per contact (and per sender who is no contact).",
    "opt_out_words": "Texts (any case, comma-separated) that opt their sender out.",
    "opt_in_words": "Texts (any case, comma-separated) that bring an opted-out sender back.",
    "gateway_receipts_url": "Where the fake gateway sends receipts and people's callbacks (the API's URL). "
                            "Empty: none (`make run` in real mode fills it in).",
    "webhook_timeout": "Seconds each webhook post may take, the name's lookup included.",
    "webhook_retry_hours": "How long after an event its post is still tried.",
    "webhook_allow_private": "Let webhooks post to loopback, private and link-local addresses.",
    "webhook_concurrency": "Threads of the webhook worker.",
    "webhook_user_concurrency": "Webhook posts of one user being sent at once; the user's next ones wait.",
    "max_pending_posts": "Webhook posts waiting per user; past it a test event is a 429, a real one dropped "
                         "and counted.",
    "max_pending_posts_per_webhook": "The same per webhook.",
    "telegram_rate": "Telegram sends a second per bot, all workers together; 0: unlimited.",
    "telegram_chat_rate": "Telegram sends a second to one chat.",
    "whatsapp_rate": "WhatsApp sends a second per business number.",
    "whatsapp_chat_rate": "WhatsApp sends a second to one recipient (off: Meta's pair limit is retried instead).",
    "viber_rate": "Viber sends a second per bot.",
    "viber_chat_rate": "Viber sends a second to one recipient.",
    "rate_limit_headroom": "Pace this share below each rate limit, so network jitter never tips a second over it.",
    "rate_limit_linger": "A turn due within this many seconds is awaited in the worker; a later one goes back "
                         "to Celery until then.",
}
