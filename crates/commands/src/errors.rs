//! Every error reply text, in one place, worded exactly as Redis words them.

use resp::Reply;

pub const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const SYNTAX: &str = "ERR syntax error";
pub const NOT_INT: &str = "ERR value is not an integer or out of range";
pub const NOT_FLOAT: &str = "ERR value is not a valid float";
pub const OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const INCR_NAN_INF: &str = "ERR increment would produce NaN or Infinity";
pub const NO_SUCH_KEY: &str = "ERR no such key";
pub const INDEX_RANGE: &str = "ERR index out of range";
pub const DB_RANGE: &str = "ERR DB index is out of range";
pub const STRING_TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
pub const OFFSET_RANGE: &str = "ERR offset is out of range";
pub const MIN_MAX_FLOAT: &str = "ERR min or max is not a float";
pub const MIN_MAX_LEX: &str = "ERR min or max not valid string range item";
pub const TIMEOUT_NOT_FLOAT: &str = "ERR timeout is not a float or out of range";
pub const TIMEOUT_NEGATIVE: &str = "ERR timeout is negative";
pub const TIMEOUT_RANGE: &str = "ERR timeout is out of range";
pub const OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";
pub const NOAUTH: &str = "NOAUTH Authentication required.";
pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
pub const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
pub const READONLY: &str = "READONLY You can't write against a read only replica.";
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
pub const BUSYKEY: &str = "BUSYKEY Target key name already exists.";
pub const SAME_OBJECT: &str = "ERR source and destination objects are the same";
pub const POSITIVE: &str = "ERR value is out of range, must be positive";
pub const NUMKEYS_ZERO: &str = "ERR at least 1 input key is needed for this command";

// Lists (LPOS, LREM, LMPOP/BLMPOP).
pub const LPOS_RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list";
pub const LPOS_COUNT_NEGATIVE: &str = "ERR COUNT can't be negative";
pub const LPOS_MAXLEN_NEGATIVE: &str = "ERR MAXLEN can't be negative";
/// LPOS RANK and LREM count accept -LONG_MAX..=LONG_MAX (Valkey 8; Redis 7.0 took LONG_MIN too).
pub const LIST_NOT_LONG_MIN: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
// --- hashes and sets ---------------------------------------------------------------------
pub const HASH_NOT_INT: &str = "ERR hash value is not an integer";
pub const HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
pub const NAN_OR_INFINITY: &str = "ERR value is NaN or Infinity";
pub const OUT_OF_RANGE: &str = "ERR value is out of range";
pub const NUMKEYS_POSITIVE: &str = "ERR numkeys should be greater than 0";
pub const NUMKEYS_TOO_MANY: &str = "ERR Number of keys can't be greater than number of args";
pub const LIMIT_NEGATIVE: &str = "ERR LIMIT can't be negative";
pub const INVALID_CURSOR: &str = "ERR invalid cursor";
pub const NOVALUES_HSCAN_ONLY: &str = "ERR NOVALUES option can only be used in HSCAN";
pub const NOSCORES_ZSCAN_ONLY: &str = "ERR NOSCORES option can only be used in ZSCAN";

/// `getRangeLongFromObjectOrReply` without a custom message (sic, Redis's wording).
pub fn range_error(min: i64, max: i64) -> Reply {
    Reply::error(format!(
        "ERR value is out of range, value must between {min} and {max}"
    ))
}

// --- Sorted sets -------------------------------------------------------------------------
pub const ZADD_XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
pub const ZADD_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
pub const ZADD_INCR_PAIRS: &str = "ERR INCR option supports a single increment-element pair";
pub const SCORE_NAN: &str = "ERR resulting score is not a number (NaN)";
pub const ZRANGE_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
pub const ZRANGE_WITHSCORES_BYLEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
pub const WEIGHT_NOT_FLOAT: &str = "ERR weight value is not a float";
pub const COUNT_POSITIVE: &str = "ERR count should be greater than 0";

/// `ERR at least 1 input key is needed for '<cmd>' command` (ZUNION, ZINTERSTORE...).
pub fn numkeys_needed(cmd: &str) -> Reply {
    Reply::error(format!(
        "ERR at least 1 input key is needed for '{cmd}' command"
    ))
}
// --- end of sorted sets ------------------------------------------------------------------

/// `ERR wrong number of arguments for '<cmd>' command` (full name, e.g. `config|get`).
pub fn wrong_arity(name: &str) -> Reply {
    Reply::error(format!(
        "ERR wrong number of arguments for '{name}' command"
    ))
}

/// `ERR unknown command '<name>', with args beginning with: '<a>' '<b>' ` as Redis 7 words it.
pub fn unknown_command(argv: &[bytes::Bytes]) -> Reply {
    let name = c_text(argv.first().map(|a| &a[..]).unwrap_or(b""));
    let name: String = name.chars().take(128).collect();
    let mut args = String::new();
    for a in argv.iter().skip(1) {
        if args.len() >= 128 {
            break;
        }
        let room = 128 - args.len();
        let text = c_text(a);
        let cut: String = text.chars().take(room).collect();
        args.push_str(&format!("'{cut}' "));
    }
    Reply::error(format!(
        "ERR unknown command '{name}', with args beginning with: {args}"
    ))
}

/// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> Reply {
    let sub = c_text(sub);
    let sub: String = sub.chars().take(128).collect();
    Reply::error(format!(
        "ERR unknown subcommand '{sub}'. Try {} HELP.",
        cmd.to_uppercase()
    ))
}

pub fn err(text: &'static str) -> Reply {
    Reply::error(text)
}

// ---------------------------------------------------------------------------------------------
// Server: pub/sub (shard channels), client-side caching (CLIENT TRACKING / CACHING), LATENCY
// ---------------------------------------------------------------------------------------------
pub const SSUBSCRIBE_DENY_BLOCKING: &str =
    "ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client";
pub const TRACKING_ONE_REDIRECT: &str = "ERR A client can only redirect to a single other client";
pub const TRACKING_NO_REDIRECT_CLIENT: &str =
    "ERR The client ID you want redirect to does not exist";
pub const TRACKING_PREFIX_NEEDS_BCAST: &str = "ERR PREFIX option requires BCAST mode to be enabled";
pub const TRACKING_BCAST_SWITCH: &str = "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const TRACKING_BCAST_OPTIN: &str = "ERR OPTIN and OPTOUT are not compatible with BCAST";
pub const TRACKING_OPTIN_AND_OPTOUT: &str = "ERR You can't specify both OPTIN mode and OPTOUT mode";
pub const TRACKING_OPT_SWITCH: &str = "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.";
pub const CACHING_NOT_TRACKING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";
pub const CACHING_YES_NOT_OPTIN: &str =
    "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.";
pub const CACHING_NO_NOT_OPTOUT: &str =
    "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.";

pub const CLIENT_KILL_MAXAGE_NOT_INT: &str = "ERR maxage is not an integer or out of range";
pub const CLIENT_KILL_MAXAGE_POSITIVE: &str = "ERR maxage should be greater than 0";

/// CLIENT KILL USER of a user that does not exist (Redwing has only `default`).
pub fn no_such_user(name: &[u8]) -> Reply {
    Reply::error(format!("ERR No such user '{}'", c_text(name)))
}

/// UNSUBSCRIBE, PUNSUBSCRIBE or SUNSUBSCRIBE from a client subscribed to nothing.
pub fn nosub(name: &str) -> Reply {
    Reply::error(format!(
        "NOSUB '{name}' command executed not in subscribed mode"
    ))
}

/// A BCAST prefix that covers, or is covered by, one the client already has.
pub fn prefix_overlaps_existing(prefix: &[u8], existing: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
        c_text(prefix),
        c_text(existing)
    ))
}

/// Two BCAST prefixes of one CLIENT TRACKING call that overlap.
pub fn prefix_overlaps_other(prefix: &[u8], other: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
        c_text(prefix),
        c_text(other)
    ))
}

/// LATENCY GRAPH of an event with no samples.
pub fn latency_no_samples(event: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR No samples available for event '{}'",
        c_text(event)
    ))
}

// ---------------------------------------------------------------------------------------------
// Generic key commands (keys.rs)
// ---------------------------------------------------------------------------------------------

pub const INVALID_FIRST_DB: &str = "ERR invalid first DB index";
pub const INVALID_SECOND_DB: &str = "ERR invalid second DB index";
pub const EXPIRE_NX_EXCLUSIVE: &str =
    "ERR NX and XX, GT or LT options at the same time are not compatible";
pub const EXPIRE_GT_LT: &str = "ERR GT and LT options at the same time are not compatible";
pub const SORT_NOT_DOUBLE: &str = "ERR One or more scores can't be converted into double";
pub const SORT_BY_ACL: &str = "ERR BY option of SORT denied due to insufficient ACL permissions.";
pub const SORT_GET_ACL: &str = "ERR GET option of SORT denied due to insufficient ACL permissions.";
/// `getIntFromObjectOrReply` without a custom message, for integers outside the C `int` range.
pub const INT_RANGE: &str =
    "ERR value is out of range, value must between -2147483648 and 2147483647";

/// Text of an argument for an error message, as C's `%s` prints it (up to a NUL byte).
pub fn c_text(arg: &[u8]) -> String {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end]).into_owned()
}

/// `ERR invalid expire time in '<cmd>' command` (`cmd` is the lower-case command name).
pub fn invalid_expire_time(cmd: &str) -> Reply {
    Reply::error(format!("ERR invalid expire time in '{cmd}' command"))
}

/// `ERR Unsupported option <opt>` (EXPIRE family).
pub fn unsupported_option(opt: &[u8]) -> Reply {
    Reply::error(format!("ERR Unsupported option {}", c_text(opt)))
}

/// `ERR unknown type name '<name>'` (SCAN TYPE).
pub fn unknown_type_name(name: &[u8]) -> Reply {
    Reply::error(format!("ERR unknown type name '{}'", c_text(name)))
}

// ---------------------------------------------------------------------------------------------
// HyperLogLog (hll.rs); the HyperLogLog WRONGTYPE and INVALIDOBJ texts are types::hll's
// ---------------------------------------------------------------------------------------------

pub const PFDEBUG_NO_KEY: &str = "ERR The specified key does not exist";
pub const PFDEBUG_NOT_SPARSE: &str = "ERR HLL encoding is not sparse";

pub const HLL_SELFTEST_SPARSE: &str = "TESTFAILED sparse encoding not used";
pub const HLL_SELFTEST_DISAGREE: &str = "TESTFAILED dense/sparse disagree";

/// PFSELFTEST: a dense register did not keep its value.
pub fn hll_selftest_register(index: usize, expected: u8, got: u8) -> Reply {
    Reply::error(format!(
        "TESTFAILED Register {index} should be {expected} but is {got}"
    ))
}

/// PFSELFTEST: an estimate too far from the true cardinality.
pub fn hll_selftest_error(card: u64, abserr: u64) -> Reply {
    Reply::error(format!(
        "TESTFAILED Too big error. card:{card} abserr:{abserr}"
    ))
}

/// `ERR Unknown PFDEBUG subcommand '<sub>'`.
pub fn unknown_pfdebug(sub: &[u8]) -> Reply {
    Reply::error(format!("ERR Unknown PFDEBUG subcommand '{}'", c_text(sub)))
}

// ---------------------------------------------------------------------------------------------
// Streams (streams/)
// ---------------------------------------------------------------------------------------------

pub const STREAM_INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";
pub const STREAM_MAXLEN_MINID: &str =
    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
pub const STREAM_MAXLEN_NEGATIVE: &str = "ERR The MAXLEN argument must be >= 0.";
pub const STREAM_LIMIT_NEGATIVE: &str = "ERR The LIMIT argument must be >= 0.";
pub const STREAM_LIMIT_NO_STRATEGY: &str =
    "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy";
pub const STREAM_XTRIM_NO_STRATEGY: &str =
    "ERR syntax error, XTRIM must be called with a trimming strategy";
pub const STREAM_LIMIT_NO_TILDE: &str =
    "ERR syntax error, LIMIT cannot be used without the special ~ option";
pub const STREAM_XADD_ZERO_ID: &str = "ERR The ID specified in XADD must be greater than 0-0";
pub const STREAM_EXHAUSTED: &str =
    "ERR The stream has exhausted the last possible ID, unable to add more items";
pub const STREAM_XADD_ID_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
pub const STREAM_TOO_LARGE: &str = "ERR Elements are too large to be stored";
pub const STREAM_INVALID_START: &str = "ERR invalid start ID for the interval";
pub const STREAM_INVALID_END: &str = "ERR invalid end ID for the interval";
pub const STREAM_GROUP_XREAD: &str =
    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.";
pub const STREAM_NOACK_XREAD: &str =
    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.";
pub const STREAM_MISSING_GROUP: &str = "ERR Missing GROUP option for XREADGROUP";
pub const STREAM_DOLLAR_XREADGROUP: &str = "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.";
pub const STREAM_PLUS_XREADGROUP: &str = "ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.";
pub const STREAM_LAST_ID_ZERO: &str = "ERR the stream last element ID is 0-0";
pub const STREAM_GT_XREAD: &str = "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.";
pub const STREAM_TIMEOUT_NOT_INT: &str = "ERR timeout is not an integer or out of range";
pub const STREAM_ENTRIESREAD: &str = "ERR value for ENTRIESREAD must be positive or -1";
pub const STREAM_XGROUP_NO_KEY: &str = "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.";
pub const STREAM_BUSYGROUP: &str = "BUSYGROUP Consumer Group name already exists";
pub const STREAM_ENTRIES_ADDED_NEGATIVE: &str = "ERR entries_added must be positive";
pub const STREAM_XSETID_BELOW_GIVEN_MAXDEL: &str =
    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id";
pub const STREAM_XSETID_BELOW_MAXDEL: &str =
    "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id";
pub const STREAM_XSETID_BELOW_TOP: &str =
    "ERR The ID specified in XSETID is smaller than the target stream top item";
pub const STREAM_XSETID_ADDED_BELOW_LEN: &str =
    "ERR The entries_added specified in XSETID is smaller than the target stream length";
pub const STREAM_XCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XCLAIM";
pub const STREAM_XCLAIM_IDLE: &str = "ERR Invalid IDLE option argument for XCLAIM";
pub const STREAM_XCLAIM_TIME: &str = "ERR Invalid TIME option argument for XCLAIM";
pub const STREAM_XCLAIM_RETRYCOUNT: &str = "ERR Invalid RETRYCOUNT option argument for XCLAIM";
pub const STREAM_XAUTOCLAIM_MIN_IDLE: &str = "ERR Invalid min-idle-time argument for XAUTOCLAIM";
pub const STREAM_XAUTOCLAIM_COUNT: &str = "ERR COUNT must be > 0";
pub const STREAM_XAUTOCLAIM_NO_MEMORY: &str =
    "ERR Insufficient memory, failed allocating transient memory, COUNT too high.";

/// Text of an argument inside an error reply built by `addReplyErrorFormat`: cut at a NUL,
/// and with CR/LF turned into spaces (Valkey keeps error replies on one line).
fn err_arg(arg: &[u8]) -> String {
    c_text(arg).replace(['\r', '\n'], " ")
}

/// `ERR Unbalanced '<cmd>' list of streams: for each stream key an ID or '<sym>' must be
/// specified.`
pub fn stream_unbalanced(cmd: &str, symbol: char) -> Reply {
    Reply::error(format!(
        "ERR Unbalanced '{cmd}' list of streams: for each stream key an ID or '{symbol}' must be specified."
    ))
}

/// `NOGROUP No such key '<key>' or consumer group '<group>' in XREADGROUP with GROUP option`.
pub fn stream_nogroup_xreadgroup(key: &[u8], group: &[u8]) -> Reply {
    Reply::error(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        err_arg(key),
        err_arg(group)
    ))
}

/// `NOGROUP No such key '<key>' or consumer group '<group>'` (XPENDING, XCLAIM, XAUTOCLAIM).
pub fn stream_nogroup(key: &[u8], group: &[u8]) -> Reply {
    Reply::error(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        err_arg(key),
        err_arg(group)
    ))
}

/// `NOGROUP No such consumer group '<group>' for key name '<key>'` (XGROUP, XINFO).
pub fn stream_nogroup_for_key(group: &[u8], key: &[u8]) -> Reply {
    Reply::error(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        err_arg(group),
        err_arg(key)
    ))
}

/// `ERR Unrecognized XCLAIM option '<opt>'`.
pub fn stream_xclaim_option(opt: &[u8]) -> Reply {
    Reply::error(format!("ERR Unrecognized XCLAIM option '{}'", err_arg(opt)))
}

/// `addReplySubcommandSyntaxError`: `ERR unknown subcommand or wrong number of arguments for
/// '<sub>'. Try <CMD> HELP.`
pub fn subcommand_syntax(cmd: &[u8], sub: &[u8]) -> Reply {
    let sub: String = err_arg(sub).chars().take(128).collect();
    Reply::error(format!(
        "ERR unknown subcommand or wrong number of arguments for '{sub}'. Try {} HELP.",
        err_arg(cmd).to_uppercase()
    ))
}

// ---------------------------------------------------------------------------------------------
// Bitmaps (bitops.rs, bitops/field.rs)
// ---------------------------------------------------------------------------------------------

pub const BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
pub const BIT_VALUE: &str = "ERR bit is not an integer or out of range";
pub const BITPOS_BIT: &str = "ERR The bit argument must be 1 or 0.";
pub const BITOP_NOT_ONE_KEY: &str = "ERR BITOP NOT must be called with a single source key.";
pub const BITFIELD_OVERFLOW_TYPE: &str = "ERR Invalid OVERFLOW type specified";
pub const BITFIELD_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
pub const BITFIELD_RO_GET_ONLY: &str = "ERR BITFIELD_RO only supports the GET subcommand";

// ---------------------------------------------------------------------------------------------
// Geo (geo.rs, geo/search.rs); the invalid longitude,latitude pair error is formatted there
// ---------------------------------------------------------------------------------------------

pub const GEO_UNIT: &str = "ERR unsupported unit provided. please use M, KM, FT, MI";
pub const GEO_NEED_RADIUS: &str = "ERR need numeric radius";
pub const GEO_RADIUS_NEGATIVE: &str = "ERR radius cannot be negative";
pub const GEO_NEED_WIDTH: &str = "ERR need numeric width";
pub const GEO_NEED_HEIGHT: &str = "ERR need numeric height";
pub const GEO_BOX_NEGATIVE: &str = "ERR height or width cannot be negative";
pub const GEO_NO_MEMBER: &str = "ERR could not decode requested zset member";
pub const GEO_COUNT_POSITIVE: &str = "ERR COUNT must be > 0";
pub const GEO_ANY_NEEDS_COUNT: &str = "ERR the ANY argument requires COUNT argument";
pub const GEO_STORE_WITH: &str =
    "ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options";
pub const GEOSEARCHSTORE_WITH: &str =
    "ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options";

/// `ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for <cmd>` (`cmd` as typed).
pub fn geo_need_from(cmd: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
        c_text(cmd)
    ))
}

/// `ERR exactly one of BYRADIUS and BYBOX can be specified for <cmd>` (`cmd` as typed).
pub fn geo_need_by(cmd: &[u8]) -> Reply {
    Reply::error(format!(
        "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
        c_text(cmd)
    ))
}

// ---------------------------------------------------------------------------------------------
// Server commands: DEBUG
// ---------------------------------------------------------------------------------------------

pub const DEBUG_RELOAD_OPTIONS: &str =
    "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.";

// ---------------------------------------------------------------------------------------------
// ACL, AUTH and HELLO (the server's `access` module and `cmd::acl_cmd`); the rule errors of
// ACL SETUSER and aclfiles are the `acl` crate's (`acl::RuleError::text`)
// ---------------------------------------------------------------------------------------------

pub const AUTH_NO_PASSWORD: &str = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?";
pub const HELLO_NOAUTH: &str = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time";
pub const ACL_USERNAME_SPACES: &str = "ERR Usernames can't contain spaces or null characters";
pub const ACL_DELETE_DEFAULT: &str = "ERR The 'default' user cannot be removed";
pub const ACL_NO_FILE: &str = "ERR This instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a configuration file set) in order to store users in the configuration.";
pub const ACL_SAVE_FAILED: &str = "ERR There was an error trying to save the ACLs. Please check the server logs for more information";
pub const ACL_GENPASS_BITS: &str = "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096";
/// The start of the DENIED line a non-loopback client gets in protected mode (the whole line
/// is `PROTECTED_MODE_DENIED`).
pub const PROTECTED_MODE_DENIED: &str = "-DENIED Running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers, you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting from the same host the server is running, however MAKE SURE it's not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// `NOPERM <message>` of a command refused by the ACL check (`getAclErrorMessage`, not verbose).
pub fn noperm(message: &str) -> Reply {
    Reply::error(format!("NOPERM {message}"))
}

/// The NOPERM error of a queued command that the ACL rules no longer allow at EXEC.
pub fn noperm_at_exec(reason: &str) -> Reply {
    Reply::error(format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}"))
}

/// `ERR Unknown category '<name>'` (ACL CAT; at most 128 bytes of the name).
pub fn acl_unknown_category(name: &[u8]) -> Reply {
    let name: String = c_text(name).chars().take(128).collect();
    Reply::error(format!("ERR Unknown category '{name}'"))
}

/// `ERR User '<name>' not found` (ACL DRYRUN).
pub fn acl_no_user(name: &[u8]) -> Reply {
    Reply::error(format!("ERR User '{}' not found", c_text(name)))
}

/// `ERR Command '<name>' not found` (ACL DRYRUN).
pub fn acl_no_command(name: &[u8]) -> Reply {
    Reply::error(format!("ERR Command '{}' not found", c_text(name)))
}
