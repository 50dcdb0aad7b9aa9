// Package trace owns follow-the-money tracing: where the tainted sats of
// some outputs went, under a chosen taint policy, up to the cash-out
// points (services) that labels name.
//
// Trace walks forward from the sources: taint on an output moves to the
// transaction that spends it (index.DB.SpentBy); in that transaction the
// policy (Distribute, a pure function) shares the tainted input sats among
// the outputs. Pending transactions sit in a min-heap of transaction
// numbers: taint only flows to larger numbers, so each transaction is read
// once, after all its tainted inputs have arrived, and every policy sees
// its whole taint.
//
// # Policies (Distribute)
//
// Inputs carry (value, tainted sats); outputs carry a value.
//
//   - FIFO (Clayton's Case): the inputs in order form a stream, each
//     input's tainted sats before its clean sats (the simulator's
//     per-input order, docs/SIMULATOR.md "Taint policy", for one
//     participant); the outputs in order take consecutive stretches of it;
//     what is left pays the fee.
//   - LIFO: the same stream with the inputs taken last first (each still
//     tainted then clean): the last input's sats go to the first outputs.
//   - Haircut: each output gets floor(tainted in × value / input sats);
//     the rounding goes to the fee.
//   - Poison: every output of a transaction with any tainted input is
//     tainted in full. It creates taint: amounts are output values and
//     overstate; Totals do not balance.
//   - TIHO (taint in highest out): the tainted sats fill the outputs from
//     the highest value down (ties: lower index first); excess pays the fee.
//
// # CoinJoins
//
// A CoinJoin (coinjoin.Detect, else cluster.TxNote) is split participant
// by participant, not by one policy over all of it (which would taint the
// other participants' outputs). A tainted participant is the inputs of one
// entity (cluster.Resolver); its outputs are found by, in order:
//
//   - clustering: the outputs of the same entity are its own (certain);
//     the rest of its input sats went to outputs clustering cannot name,
//     shared over all the others by value (uncertain);
//   - change matching: exactly one output of a value no other output has
//     (or none at all) is c such that inputs − c − D is within fees
//     (0.4% of D + 0.003 BTC), D a sum of distinct denominations (values
//     of two or more outputs, at most 12 of them), one output each, as in
//     Wasabi 1 and JoinMarket: c is certain, each denomination in D is
//     shared over the outputs of that value (uncertain);
//   - else every output shares its input sats by value (uncertain).
//
// The policy then shares the participant's taint among these outputs.
// Uncertain taint is counted in Totals.CoinJoin and not followed (it is
// neither exposure nor lost), unless Options.FollowCoinJoins. Each
// CoinJoin is listed in Result.CoinJoins with its certain and uncertain
// taint and Method.
//
// # Stops
//
// An output of an entity that Options.Stop names (label.Services), other
// than a perpetrator entity, is a cash-out: recorded, not followed. An
// unspent output is held; an output of a standalone block that no indexed
// input spends (index.SpendUnknown: the blocks after it are not indexed)
// is beyond the indexed range (Totals.Beyond), not held. A spent output
// is not followed when its taint is below MinSats or it is MaxHops from
// the source; a spend outside [After, Before) is not followed either. Sources are always followed,
// even when a service holds them (a theft's source is the victim's coin).
//
// # Peel chains
//
// A transaction with 1–2 inputs and two outputs, the smaller at most
// PeelShare of both, is peel-shaped; a run of at least MinPeelRun such
// transactions each spending the previous one's larger output (the
// remainder) is reported as a peel chain. Nothing else is special: the
// remainder and each peel are followed as ordinary outputs.
//
// # Backward
//
// With Options.Direction = Backward, Trace answers where the funds of the
// sources came from. Taint on an output goes to the transaction that
// created it (the output's own transaction), where DistributeBack, the
// policy's mirror, attributes the tainted output sats to the inputs:
// FIFO lays the outputs' stream (each output's tainted sats first) over
// the inputs in order, LIFO over the inputs last first; haircut gives each
// input tainted × its value / all input sats (fee included, so the shares
// sum to the taint); TIHO fills the highest-value inputs first; poison
// taints every input in full. Each input's share then continues from the
// output it spent (In.Prev). Pending transactions sit in the same heap on
// complemented numbers, so the largest pops first and each is read once,
// after all the taint on its outputs has arrived.
//
// An input whose entity Stop names (other than a perpetrator) is a source
// of funds (e.g. an exchange withdrawal): recorded in Totals.CashedOut and
// the entity's CashedOut, not walked further. A coinbase's taint counts in
// Totals.Mined; an input whose spent output is not indexed, or taint the
// inputs' known values cannot cover, in Totals.Unknown. MaxHops, MinSats
// and the time window stop the walk as forward. Standalone blocks' inputs
// whose spent outputs are not indexed are unknown. Entities are those funds
// came from (an input's address's entity), with the same numbers; example
// paths run from a source's transaction back to the transaction that
// created the output the entity spent.
//
// A CoinJoin's outputs map back participant by participant: an output of
// the same entity as some inputs, or the change that change matching
// finds for exactly one participant, is that participant's (certain, the
// policy's mirror over its inputs); every other output's taint, and what
// a participant's outputs carry beyond its inputs, is shared over all
// inputs by haircut (over what each has left) and is uncertain (Totals.CoinJoin, not
// walked unless Options.FollowCoinJoins).
//
// # Invariants
//
//	T1. Distribute: for every policy but Poison, 0 <= out[j] <= outVal[j],
//	    fee >= 0 and Σout + fee = Σ tainted in (fuzzed).
//	T2. For every policy but Poison, Result.Totals.Accounted() equals
//	    Totals.Source (tested on simulated chains); a CoinJoin's split
//	    conserves its taint (certain + uncertain + fee, tested).
//	T3. Each transaction is read and shared once per trace.
//	T4. DistributeBack: for every policy but Poison, 0 <= in[i] <=
//	    inVal[i], rest >= 0 and Σin + rest = Σ tainted out (exhaustive on
//	    small shapes, fuzzed); FIFO and LIFO equal a satoshi-by-satoshi
//	    reference. Backward traces conserve as T2 (simulated chains).
//	T5. Every entity's and address's Share is in [0, 1], the entities'
//	    shares sum to at most 1, and what ended at entities (cashed out,
//	    held, beyond the indexed range, untracked) is no more than the
//	    Totals (checkShares, after every trace under invariants.Enabled;
//	    tested on simulated incidents and entities).
//
// # Does not touch
//
// The store's keyspaces (read through index, cluster and label queries
// only); it writes nothing.
//
// # Result
//
// Every entity reached is listed with its numbers and address ids. An
// entity's Sats are what it received from others: taint its own inputs
// (backward: outputs) gave a transaction comes back to it first and is
// not received again, so change and self-transfers do not inflate it. Its
// Share is what of the traced taint ended there (Totals.Denominator: the
// source, or under Poison everything accounted). Sources are traced
// together (Trace dedups an output named twice): an incident's
// transactions give one result (ParseSourceList reads a list of them).
// Only the first Options.Detail (cash-out points first, then most sats)
// get address strings and example paths, which cost store reads. The
// graph is built only when Options.Graph.
//
// # Evaluation
//
// Evaluate traces the answer key's cases (taint.csv rows stolen and
// origin) and scores the cash-outs against taint_summary.json's
// received_by, mapping each traced entity to the truth entity owning most
// of the sats it received.
package trace
