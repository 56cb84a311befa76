//! Every error text of the scripting engine, worded as Valkey 8.0.1 words it.
//!
//! Replies are written without the leading `-` (the project's `Reply::Error` convention).
//! Texts raised inside Lua (they reach the client wrapped as `ERR <text> script: ...`) are
//! marked "(Lua)".

// EVAL / EVALSHA / FCALL arguments.
pub const NUMKEYS_NOT_INTEGER: &str = "ERR value is not an integer or out of range";
pub const FCALL_BAD_NUMKEYS: &str = "ERR Bad number of keys provided";
pub const NUMKEYS_TOO_BIG: &str = "ERR Number of keys can't be greater than number of args";
pub const NUMKEYS_NEGATIVE: &str = "ERR Number of keys can't be negative";
pub const NOSCRIPT: &str = "NOSCRIPT No matching script.";
pub const EVALSHA_DEBUG: &str = "ERR Please use EVAL instead of EVALSHA for debugging";
pub const FUNCTION_NOT_FOUND: &str = "ERR Function not found";

// Shebangs (`#!lua flags=...`).
pub const SHEBANG_INVALID: &str = "ERR Invalid script shebang";
pub const SHEBANG_INVALID_ENGINE: &str = "ERR Invalid engine in script shebang";
pub const SHEBANG_UNEXPECTED_ENGINE: &str = "ERR Unexpected engine in script shebang: ";
pub const SHEBANG_UNEXPECTED_FLAG: &str = "ERR Unexpected flag in script shebang: ";
pub const SHEBANG_UNKNOWN_OPTION: &str = "ERR Unknown lua shebang option: ";
pub const COMPILE_SCRIPT: &str = "ERR Error compiling script (new function): ";

// scriptPrepareForRun.
pub const NO_CLUSTER: &str = "ERR Can not run script on cluster, 'no-cluster' flag is set.";
pub const STALE_NO_ALLOW_STALE: &str = "MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.";
pub const MASTERDOWN: &str =
    "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";
pub const READONLY_REPLICA_SCRIPT: &str =
    "READONLY Can not run script with write flag on readonly replica";
pub const WRITE_FLAG_RO_COMMAND: &str =
    "ERR Can not execute a script with write flag using *_ro command.";
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
pub const OOM_SCRIPT: &str =
    "OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'";

/// `MISCONF` for writable scripts while RDB saves fail (`{name}` is "Valkey" or "Redis").
pub fn misconf_rdb(name: &str) -> String {
    format!("MISCONF {name} is configured to save RDB snapshots, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts.")
}

/// The shared `MISCONF` reply while RDB saves fail (`shared.bgsaveerr`).
pub fn misconf_bgsave(name: &str) -> String {
    format!("MISCONF {name} is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the {name} logs for details about the RDB error.")
}

/// `MISCONF` for writable scripts while AOF writes fail.
pub fn misconf_aof(name: &str, strerror: &str) -> String {
    format!("MISCONF {name} is configured to persist data to AOF, but it's currently unable to persist to disk. Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: {strerror}")
}

// scriptCall (texts of a `CallOutcome::Rejected`; `ERR ` is added when no code is given).
pub const CALL_WRONG_ARITY: &str = "Wrong number of args calling command from script";
pub const CALL_UNKNOWN_COMMAND: &str = "Unknown command called from script";
pub const CALL_NOSCRIPT: &str = "This Redis command is not allowed from script";
pub const CALL_STALE: &str = "Can not execute the command on a stale replica";
pub const CALL_ACL_PREFIX: &str = "ACL failure in script: ";
pub const CALL_WRITE_IN_RO: &str = "Write commands are not allowed from read-only scripts.";
pub const CALL_READONLY: &str = "-READONLY You can't write against a read only replica.";
pub const CALL_NOREPLICAS: &str = "-NOREPLICAS Not enough good replicas to write.";
pub const CALL_OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.";
pub const CALL_CLUSTER_DOWN_RO: &str =
    "Script attempted to execute a write command while the cluster is down and readonly";
pub const CALL_CLUSTER_DOWN: &str =
    "Script attempted to execute a command while the cluster is down";
pub const CALL_UNBOUND_SLOT: &str = "Script attempted to access a slot not served";
pub const CALL_NON_LOCAL_KEY: &str = "Script attempted to access a non local key in a cluster node";
pub const CALL_CROSS_SLOT_UNDECLARED: &str =
    "Script attempted to access keys that do not hash to the same slot";

/// `Command '<name>' in script attempted to access keys that don't hash to the same slot`.
pub fn call_cross_slot(fullname: &str) -> String {
    format!(
        "Command '{fullname}' in script attempted to access keys that don't hash to the same slot"
    )
}

/// The rehashing-slot text of scriptVerifyClusterState.
pub fn call_unstable_slot(fullname: &str) -> String {
    format!("Unable to execute command '{fullname}' in script because undeclared keys were accessed during rehashing of the slot")
}

// SCRIPT / FUNCTION KILL.
pub const NOTBUSY: &str = "NOTBUSY No scripts in execution right now.";
pub const UNKILLABLE_PRIMARY: &str = "UNKILLABLE The busy script was sent by a master instance in the context of replication and cannot be killed.";
pub const UNKILLABLE_WRITTEN: &str = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";

/// `-BUSY` while an EVAL script runs (also the reply to FUNCTION KILL then).
pub fn busy_eval(name: &str) -> String {
    format!(
        "BUSY {name} is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
    )
}

/// `-BUSY` while a function runs (also the reply to SCRIPT KILL then).
pub fn busy_function(name: &str) -> String {
    format!(
        "BUSY {name} is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."
    )
}

// SCRIPT subcommands.
pub const SCRIPT_FLUSH_OPTION: &str = "ERR SCRIPT FLUSH only support SYNC|ASYNC option";

// Inside Lua (Lua).
pub const LUA_KILLED: &str = "Script killed by user with SCRIPT KILL...";
pub const LUA_NO_ARGS: &str = "Please specify at least one argument for this call";
pub const LUA_BAD_ARG_TYPE: &str = "Command arguments must be strings or integers";
pub const LUA_RECURSIVE_CALL: &str = "luaRedisGenericCommand() recursive call detected. Are you doing funny stuff with Lua debug hooks?";
pub const LUA_SHA1HEX_ARGS: &str = "wrong number of arguments";
pub const LUA_WRONG_ARGS: &str = "wrong number or type of arguments";
pub const LUA_SET_REPL_ARGS: &str = "server.set_repl() requires one argument.";
pub const LUA_SET_REPL_FLAGS: &str =
    "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.";
pub const LUA_ACL_CHECK_UNKNOWN: &str = "Invalid command passed to server.acl_check_cmd()";
pub const LUA_LOG_ARGS: &str = "server.log() requires two arguments or more.";
pub const LUA_LOG_LEVEL_TYPE: &str = "First argument must be a number (log level).";
pub const LUA_LOG_LEVEL: &str = "Invalid log level.";
pub const LUA_SETRESP_ARGS: &str = "server.setresp() requires one argument.";
pub const LUA_SETRESP_VERSION: &str = "RESP version must be 2 or 3.";
pub const LUA_STACK_LIMIT: &str = "ERR reached lua stack limit";

// FUNCTION.
pub const FUNCTION_LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";
pub const REGISTER_ONLY_ON_LOAD: &str =
    "server.register_function can only be called on FUNCTION LOAD command";
pub const REGISTER_ARGS: &str = "wrong number of arguments to server.register_function";
pub const REGISTER_NAMED_NOT_TABLE: &str = "calling server.register_function with a single argument is only applicable to Lua table (representing named arguments).";
pub const REGISTER_KEY_NOT_STRING: &str =
    "named argument key given to server.register_function is not a string";
pub const REGISTER_NAME_NOT_STRING: &str =
    "function_name argument given to server.register_function must be a string";
pub const REGISTER_DESC_NOT_STRING: &str =
    "description argument given to server.register_function must be a string";
pub const REGISTER_CALLBACK_NOT_FUNCTION: &str =
    "callback argument given to server.register_function must be a function";
pub const REGISTER_FLAGS_NOT_TABLE: &str =
    "flags argument to server.register_function must be a table representing function flags";
pub const REGISTER_UNKNOWN_FLAG: &str = "unknown flag given";
pub const REGISTER_UNKNOWN_ARG: &str = "unknown argument given to server.register_function";
pub const REGISTER_NO_NAME: &str = "server.register_function must get a function name argument";
pub const REGISTER_NO_CALLBACK: &str = "server.register_function must get a callback argument";
pub const REGISTER_FIRST_NOT_STRING: &str =
    "first argument to server.register_function must be a string";
pub const REGISTER_SECOND_NOT_FUNCTION: &str =
    "second argument to server.register_function must be a function";
pub const BAD_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";
pub const FUNCTION_EXISTS_IN_LIBRARY: &str = "Function already exists in the library";

pub const LIB_MISSING_METADATA: &str = "ERR Missing library metadata";
pub const LIB_INVALID_METADATA: &str = "ERR Invalid library metadata";
pub const LIB_NAME_TWICE: &str =
    "ERR Invalid metadata value, name argument was given multiple times";
pub const LIB_INVALID_METADATA_VALUE: &str = "ERR Invalid metadata value given: ";
pub const LIB_NO_NAME: &str = "ERR Library name was not given";
pub const LIB_NO_FUNCTIONS: &str = "ERR No functions registered";
pub const COMPILE_FUNCTION: &str = "ERR Error compiling function: ";
pub const REGISTERING_FUNCTIONS: &str = "ERR Error registering functions: ";

pub const FUNCTION_LOAD_UNKNOWN_OPTION: &str = "ERR Unknown option given: ";
pub const FUNCTION_LOAD_NO_CODE: &str = "ERR Function code is missing";
pub const LIBRARY_NOT_FOUND: &str = "ERR Library not found";
pub const LIST_NO_LIBRARY_NAME: &str = "ERR library name argument was not given";
pub const LIST_UNKNOWN_ARG: &str = "ERR Unknown argument ";
pub const RESTORE_BAD_POLICY: &str =
    "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.";
pub const RESTORE_BAD_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
pub const RESTORE_CANT_READ_TYPE: &str = "ERR can not read data type";
pub const RESTORE_PRE_GA: &str = "ERR Pre-GA function format not supported";
pub const RESTORE_NOT_FUNCTION: &str = "ERR given type is not a function";
pub const RESTORE_LOAD_FAILED: &str = "ERR Failed loading library payload";
pub const FUNCTION_FLUSH_OPTION: &str = "ERR FUNCTION FLUSH only supports SYNC|ASYNC option";
