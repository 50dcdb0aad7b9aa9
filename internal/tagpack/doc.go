// Package tagpack reads and writes GraphSense TagPacks and ActorPacks, the
// YAML attribution files of github.com/graphsense/graphsense-tagpacks, by the
// rules of the GraphSense tagpack tool (graphsense-tagpack-tool, now the
// tagpack package of graphsense-lib): what it accepts, Parse accepts, and
// each tag comes out as the tool would store it in its tag store.
//
// # Owns
//
//   - The TagPack and ActorPack formats: [Parse], [ParseActorPack], [Write].
//   - The taxonomies packs are checked against ([Taxonomy]), embedded from
//     the tool's files (taxonomy/, with PROVENANCE.md and the MIT licence).
//
// # Does not touch
//
//   - The label store and the index: callers decide what to do with a
//     [Pack]. Nothing here reads the chain.
//   - Other chains: sleuth is a Bitcoin tool. Tags of every currency are
//     kept, with their currency and network, but only Bitcoin addresses
//     (network BTC) are checked beyond being non-blank text.
//
// # Format
//
// A TagPack is a YAML mapping. Its header has title and creator
// (mandatory), description, owner, is_public (deprecated) and tags, the list
// of tags. A tag is a mapping of label, source, currency, network and
// confidence (mandatory), address or tx_hash (exactly one), and context,
// category, abuse, concepts, actor, is_cluster_definer, lastmod and tag_type.
// Any tag field may also stand in the header, where it applies to every tag
// that does not set it (header inheritance); most public packs set source,
// currency, confidence, abuse or category and lastmod once in the header.
// Header keys may also be nested under "header:". Concretely:
//
//   - network defaults to currency, at header and at tag level; a tag's own
//     currency also sets its network over one inherited from the header.
//     Currency and network are stored in upper case.
//   - A pack whose header has no confidence, and whose tags do not all have
//     one, gets the lowest confidence of the taxonomy, "unknown" (level 5):
//     older packs such as ofac.yaml predate the confidence field.
//   - category, abuse and every element of concepts must be concept ids of
//     concepts.yaml; the legacy entity and abuse taxonomies of 2021 packs are
//     subsets of it. concepts ends up holding the concepts field, then abuse
//     and category, then concepts derived from the "tags" of a JSON context.
//     confidence must be a confidence id, tag_type a tag type.
//   - A tag's context may be a JSON string or a YAML mapping (stored as its
//     JSON, as Python's json.dumps writes it).
//   - lastmod is a YAML date or timestamp; in the header a quoted
//     "YYYY-M-D" string is accepted too (the tool runs strptime on it).
//   - Values are typed by YAML 1.1 as PyYAML (the tool's loader) reads
//     them, not by yaml.v3's YAML 1.2 rules: yes/no/on/off are booleans, so
//     label: no is not text, and 0x… is an integer unless quoted.
//     (graphsense-lib's newer rapidyaml fast path reads yes/no as text and
//     quoted dates as dates; it falls back to PyYAML for !include and on
//     errors.)
//   - Unknown fields, repeated keys, null or blank values, wrong types and
//     NUL characters are errors.
//   - Tags repeating an earlier tag's address (or tx_hash), currency,
//     network, label and source are dropped and counted in
//     [Pack.Duplicates]; tag_type defaults to "actor", is_cluster_definer to
//     false, and labels are trimmed, as the tag store does.
//
// An ActorPack has title, creator, description, is_public and actors; an
// actor has id, uri, label, lastmod and categories (concept ids), all
// mandatory after inheritance from the header, and jurisdictions (country
// codes), context (a JSON object; known keys such as uris, refs, images,
// twitter_handle are type-checked) and aliases. Actor ids must be unique,
// must be their own normal form (lower-case ASCII letters and digits) or
// list it as an alias, and may not be another actor's alias.
//
// # Where sleuth differs from the tool
//
//   - Bitcoin addresses must decode for mainnet with internal/address (a
//     bad checksum, a wrong network, a typo). The tool only warns and inserts
//     the tag. Parse drops such tags and reports each as an error wrapping
//     [ErrAddress] at its line, but still returns the rest of the pack when
//     nothing else is wrong, so the caller chooses. Two public packs need
//     this: plustoken.yaml (two mistyped addresses) and ofac.yaml (a TRON
//     address listed as BTC).
//   - Every tag is validated, not only the first of a group of duplicates.
//   - Currency and network are trimmed as well as upper-cased, so a quoted
//     "BTC " is still a Bitcoin tag.
//   - Duplicates are keyed on the tag's address or tx_hash; the tool keys
//     them on the address alone, which merges distinct tx_hash tags.
//   - Actor aliases are read from both the aliases field and context.aliases
//     (the tool reads only the latter; in the public ActorPack the two agree).
//   - Header files shared through !include, YAML merge keys and tags other
//     than the standard ones are not supported and are errors.
//   - Warnings of the tool (unknown currency, tags without actor, is_public
//     deprecated) are not reported.
//
// # Errors
//
// Every problem is an [*Error] naming path, line and field, wrapping one of
// [ErrSyntax], [ErrSchema], [ErrTaxonomy] or [ErrAddress]; several problems
// come as an [*ErrorList] of at most [MaxErrors].
package tagpack
