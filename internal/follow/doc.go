// Package follow keeps the index in step with a running Bitcoin node:
// Bitcoin Core (or btcd) over JSON-RPC/REST with ZMQ wake-ups, or a node's
// own blocks directory read in place.
//
// # Owns
//
//   - The node client (RPC): getblockchaininfo, getbestblockhash,
//     getblockhash, getblockheader, getblock <hash> 0 and REST
//     /rest/block/<hash>.bin; basic auth from a user and password or from
//     Bitcoin Core's cookie file, read again whenever the node answers 401
//     (bitcoind rewrites it on every start); the network check (the node's
//     chain name against the store's network).
//   - The spool (Spool): a blocks directory the follower owns, where every
//     fetched block is appended as a Bitcoin Core record (magic, LE length,
//     block), files rolled at a size limit and synced before ingest.
//   - The ZMQ subscriber (sequence and hashblock topics, 3-frame messages
//     topic | body | LE uint32 sequence; gaps detected by sequence; the
//     endpoint given or found with getzmqnotifications), used
//     only to wake the follower: polling (default every 2 s) is the source
//     of truth.
//   - The sync loop (Follower): compare the node's best chain with the
//     indexed one by height, walk back to the fork (at most ReorgDepth
//     blocks below the indexed tip, else ErrReorgTooDeep), fetch the
//     missing blocks in order, append them to the spool, ingest, and emit
//     block connected/disconnected and lag events.
//
// # Does not touch
//
// The store's keys and chain selection: ingest goes through a Store
// (PipelineStore runs pipeline.Ingest in follow mode, so every stage and
// the alert stage run per round and the pipeline's listeners get the
// events; IndexStore wraps index.DB.Ingest alone), so the index picks the
// best chain by work and undoes stale blocks exactly as for block files,
// and a reorg is just new records in the spool. sleuth follow and sleuth
// serve both use PipelineStore. The follower's own events (connected,
// disconnected, lag, unavailable) drive the server's readiness.
//
// # Invariants
//
//	W1. The spool holds only whole records after OpenSpool: a record cut by
//	    a crash at the end of the last file is truncated away, and appends
//	    are synced before the index reads them.
//	W2. Every block appended to the spool hashes to the hash the node gave
//	    for it and links to the block appended before it (or to the
//	    indexed fork point); a chain that changes during a fetch ends the
//	    round early, never appends a block that does not link.
//	W3. ZMQ never decides what is ingested: a lost, late or forged
//	    notification only changes when the next round starts.
//	W4. Errors that may pass (node unreachable or starting, HTTP errors, a
//	    cookie that no longer matches, a height or block the node no
//	    longer has because it is reorganising) are retried with backoff; the others
//	    (wrong network, wrong password, a reorg deeper than ReorgDepth, a
//	    block that does not hash to its id) stop Run with the error.
//	W5. A store is only fed the directory it was built from: New refuses
//	    one whose tip block is not in the spool (or --blocks directory),
//	    because the index keeps file numbers and offsets, not directories
//	    (ErrForeignStore).
//
// # Limits
//
// The index keeps the chain with the most work among the blocks it has
// read. A node whose tip moves to a chain with less work (invalidateblock)
// is logged as an error and not followed there. The spool keeps every
// fetched block (the index reads blocks back from it to undo a reorg);
// nothing prunes it yet, so following from genesis over RPC stores the
// chain twice: ingest a node's blocks directory with --blocks for that.
// btcd has no cookie and no
// ZMQ: follow it over RPC with --rpc-user/--rpc-pass and polling; its
// websocket notifyblocks is not used.
package follow
