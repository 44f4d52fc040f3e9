"""Distributed mode: NATS JetStream between processes, Redis as a shared hot-state cache.

The in-process bus stays the hot path. :class:`~engine.distributed.bridge.NatsBridge`
copies ticks (batched) and orders, fills, alerts and audit events (durable, deduplicated)
to JetStream; :class:`~engine.distributed.feed.NatsFeed` feeds another process's ticks
into a local bus; :class:`~engine.distributed.rpc_server.RpcServer` and
:class:`~engine.distributed.rpc_client.NatsEngineClient` let ``alphapt-tui attach`` drive
a running daemon; :class:`~engine.distributed.redis_cache.RedisCacheWriter` mirrors
the latest state into Redis. Importing this package loads neither nats nor redis.
"""
