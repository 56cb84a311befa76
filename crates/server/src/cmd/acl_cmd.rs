//! ACL CAT / DELUSER / DRYRUN / GENPASS / GETUSER / HELP / LIST / LOAD / LOG / SAVE / SETUSER /
//! USERS / WHOAMI, with Valkey 8.0.1's replies and errors.

use bytes::Bytes;
use commands::errors::{self, err};
use commands::spec::acl as cat;
use commands::{table, CommandSpec};
use resp::Reply;

use super::{arg_lower, help_reply};
use crate::access;
use crate::server::Server;
use crate::util::now_ms;

pub fn acl(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let sub = arg_lower(argv, 1);
    let argc = argv.len();
    match sub.as_str() {
        "setuser" if argc >= 3 => setuser(s, key, argv),
        "deluser" if argc >= 3 => {
            if argv[2..].iter().any(|n| n.as_ref() == b"default") {
                return err(errors::ACL_DELETE_DEFAULT);
            }
            Reply::Int(access::delete_users(s, key, &argv[2..]))
        }
        "getuser" if argc == 3 => match s.acl.users.get(&argv[2]) {
            Some(u) => u.getuser_reply(),
            None => Reply::Nil,
        },
        "list" | "users" if argc == 2 => Reply::Array(
            s.acl
                .users
                .iter()
                .map(|u| {
                    if sub == "users" {
                        Reply::Bulk(Bytes::from(u.name.clone()))
                    } else {
                        Reply::Bulk(Bytes::from(u.line()))
                    }
                })
                .collect(),
        ),
        "whoami" if argc == 2 => Reply::Bulk(super::caller!(s, key).user.clone()),
        "load" | "save" if s.cfg.aclfile.is_empty() => err(errors::ACL_NO_FILE),
        "load" if argc == 2 => match access::load_file(s, key) {
            Ok(()) => Reply::Ok,
            Err(e) => Reply::error(format!("ERR {e}")),
        },
        "save" if argc == 2 => match access::save_file(s) {
            Ok(()) => Reply::Ok,
            Err(_) => err(errors::ACL_SAVE_FAILED),
        },
        "cat" if argc == 2 => Reply::Array(
            cat::NAMES
                .iter()
                .map(|(_, n)| Reply::bulk(n.as_bytes()))
                .collect(),
        ),
        "cat" if argc == 3 => match acl::selector::category(&argv[2]) {
            Some(bit) => Reply::Array(category_commands(bit)),
            None => errors::acl_unknown_category(&argv[2]),
        },
        "genpass" if argc == 2 || argc == 3 => genpass(argv),
        "log" if argc == 2 || argc == 3 => log(s, argv),
        "dryrun" if argc >= 4 => dryrun(s, argv),
        "help" if argc == 2 => help_reply("ACL", HELP),
        _ => errors::subcommand_syntax(&argv[0], &argv[1]),
    }
}

fn setuser(s: &mut Server, key: usize, argv: &[Bytes]) -> Reply {
    let name = &argv[2];
    if acl::has_spaces(name) {
        return err(errors::ACL_USERNAME_SPACES);
    }
    match s.acl.users.set_user(name, &argv[3..]) {
        Ok(old) => {
            if let Some(old) = old {
                access::after_setuser(s, key, name, &old);
            }
            Reply::Ok
        }
        Err(e) => Reply::error(format!("ERR {e}")),
    }
}

/// Every command and subcommand of a category, containers included (`aclCatWithFlags`).
fn category_commands(bit: u64) -> Vec<Reply> {
    let mut out = Vec::new();
    for spec in table::all() {
        if spec.acl_categories() & bit != 0 {
            out.push(Reply::bulk(table::full_name_of(spec).as_bytes()));
        }
        for sub in spec.subcommands {
            if sub.acl_categories() & bit != 0 {
                out.push(Reply::bulk(table::full_name_of(sub).as_bytes()));
            }
        }
    }
    out
}

fn genpass(argv: &[Bytes]) -> Reply {
    let bits = match argv.get(2) {
        None => 256,
        Some(a) => match commands::args::int(a) {
            Ok(b) => b,
            Err(e) => return e,
        },
    };
    if bits <= 0 || bits > 4096 {
        return err(errors::ACL_GENPASS_BITS);
    }
    let chars = (bits as usize).div_ceil(4);
    Reply::Bulk(Bytes::from(acl::random_hex(chars)))
}

fn log(s: &mut Server, argv: &[Bytes]) -> Reply {
    let mut count = 10i64;
    if let Some(a) = argv.get(2) {
        if a.eq_ignore_ascii_case(b"reset") {
            s.acl.log.reset();
            return Reply::Ok;
        }
        count = match commands::args::int(a) {
            Ok(n) => n.max(0),
            Err(e) => return e,
        };
    }
    s.acl.log.reply(count as usize, now_ms())
}

/// ACL DRYRUN user command [args...]: the check a command of that user would meet, with the
/// key or channel named; the verdict is a bulk string, not an error.
fn dryrun(s: &mut Server, argv: &[Bytes]) -> Reply {
    let Some(user) = s.acl.users.get(&argv[2]) else {
        return errors::acl_no_user(&argv[2]);
    };
    let cmd = &argv[3..];
    let Some(spec) = lookup(cmd) else {
        return errors::acl_no_command(&argv[3]);
    };
    if !spec.arity_ok(cmd.len()) {
        return Reply::error(format!(
            "ERR wrong number of arguments for '{}' command",
            table::full_name_of(spec)
        ));
    }
    match acl::check(user, spec, cmd) {
        Ok(()) => Reply::Ok,
        Err(d) => Reply::Bulk(Bytes::from(d.message(
            &user.name,
            table::full_name_of(spec),
            cmd,
            true,
        ))),
    }
}

/// `lookupCommand`: the command, or its subcommand when it is a container.
fn lookup(argv: &[Bytes]) -> Option<&'static CommandSpec> {
    let base = table::lookup(argv.first()?)?;
    if base.subcommands.is_empty() || argv.len() == 1 {
        return Some(base);
    }
    table::lookup_sub(base, &argv[1])
}

const HELP: &[&str] = &[
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
];
