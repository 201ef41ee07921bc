-- POST a small JSON message, as a worker does, to the fake gateway.
wrk.method = "POST"
wrk.body = '{"to": "@bench", "text": "bench message"}'
wrk.headers["Content-Type"] = "application/json"
