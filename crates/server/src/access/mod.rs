//! ACLs in the server: each client's user, the permission check at its place in the command
//! path, authentication (AUTH, HELLO … AUTH), the ACL LOG and its INFO counters, and what a
//! change of users does to connected clients (a deleted user's clients are closed, subscribers
//! who lost a channel are closed, ACL LOAD moves every client to its user's new rules).
//!
//! The rules and the check themselves are the pure `acl` crate's; this module only brings
//! them together with clients, files and statistics. [`acl_check`] is the one entry point
//! for "may this client run this command": the core calls it for every command (at queue time
//! inside MULTI, again at EXEC, again when a blocked command is reprocessed); a script's
//! commands call it with [`acl::Context::Lua`].

pub mod state;

use bytes::Bytes;
use commands::errors;
use commands::CommandSpec;
use resp::Reply;

use acl::{Context, Denial, Reason};

use crate::net::client::client_info;
use crate::server::Server;
use crate::util::now_ms;
use crate::{log_notice, log_warning};

/// The ACL LOG context of a command of client `key`: `multi` while it queues a transaction or
/// while EXEC runs it.
pub fn context_of(s: &Server, key: usize) -> Context {
    let in_multi = s.net.clients.get(key).is_some_and(|c| c.multi.is_some());
    if in_multi || s.exec.prop.depth() > 1 {
        Context::Multi
    } else {
        Context::Toplevel
    }
}

/// May client `key` run `argv` (resolved to `spec`)? A denial is logged (ACL LOG, INFO
/// counters) with `ctx` (`None`: the client's own, [`context_of`]) before it is returned;
/// the caller words the error ([`noperm`] for a client's command, [`noperm_at_exec`] at EXEC,
/// `ERR ACL failure in script: ` + [`message`] for a script). The link to this node's
/// primary runs anything, as in Valkey (its client has no user).
pub fn acl_check(
    s: &mut Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    ctx: Option<Context>,
) -> Result<(), Denial> {
    let Some(c) = s.net.clients.get(key) else {
        return Ok(());
    };
    if c.is_primary_link() {
        return Ok(());
    }
    let user = match s.acl.users.get(&c.user) {
        Some(u) => u,
        None => s.acl.users.default_user(),
    };
    let Err(d) = acl::check(user, spec, argv) else {
        return Ok(());
    };
    let (reason, object) = match d {
        Denial::Command => (
            Reason::Command,
            commands::table::full_name_of(spec).as_bytes().to_vec(),
        ),
        Denial::Key(p) => (Reason::Key, arg(argv, p)),
        Denial::Channel(p) => (Reason::Channel, arg(argv, p)),
    };
    let ctx = ctx.unwrap_or_else(|| context_of(s, key));
    log_event(s, key, reason, ctx, object, None);
    Err(d)
}

fn arg(argv: &[Bytes], pos: usize) -> Vec<u8> {
    argv.get(pos).map(|a| a.to_vec()).unwrap_or_default()
}

/// The text of a denial for client `key` (`getAclErrorMessage`, not verbose): what a script
/// reports after `ERR ACL failure in script: `.
pub fn message(
    s: &Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    d: Denial,
) -> String {
    let user = s
        .net
        .clients
        .get(key)
        .map(|c| c.user.clone())
        .unwrap_or_default();
    d.message(&user, commands::table::full_name_of(spec), argv, false)
}

/// The `NOPERM` error of a command refused at the top level.
pub fn noperm(
    s: &Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
    d: Denial,
) -> Reply {
    errors::noperm(&message(s, key, spec, argv, d))
}

/// The error of a queued command the rules no longer allow when EXEC runs it.
pub fn noperm_at_exec(d: Denial) -> Reply {
    errors::noperm_at_exec(match d {
        Denial::Command => "no permission to execute the command or subcommand",
        Denial::Key(_) => "no permission to touch the specified keys",
        Denial::Channel(_) => "no permission to access one of the channels used as arguments",
    })
}

/// Counts a denial and adds it to the ACL LOG (`addACLLogEntry`). `username` defaults to the
/// client's user (a failed AUTH logs the name it tried).
pub fn log_event(
    s: &mut Server,
    key: usize,
    reason: Reason,
    context: Context,
    object: Vec<u8>,
    username: Option<Vec<u8>>,
) {
    let counter = match reason {
        Reason::Auth => &mut s.stats.acl_denied_auth,
        Reason::Command => &mut s.stats.acl_denied_cmd,
        Reason::Key => &mut s.stats.acl_denied_key,
        Reason::Channel => &mut s.stats.acl_denied_channel,
    };
    *counter += 1;
    let max_len = s.cfg.acllog_max_len.max(0) as usize;
    let now = now_ms();
    let (client_user, info) = match s.net.clients.get(key) {
        Some(c) => (c.user.to_vec(), client_info(c, now)),
        None => (b"default".to_vec(), String::new()),
    };
    s.acl.log.add(
        acl::log::Event {
            reason,
            context,
            object,
            username: username.unwrap_or(client_user),
            client_info: info,
            now_ms: now,
        },
        max_len,
    );
}

/// Authentication must happen before commands: the client has not authenticated and the
/// default user requires it (`authRequired`).
pub fn auth_required(s: &Server, authenticated: bool) -> bool {
    !authenticated && s.acl.users.default_requires_auth()
}

/// A new connection's state: the default user, authenticated when it needs no password
/// (`clientSetDefaultAuth`).
pub fn set_default_auth(s: &mut Server, key: usize) {
    let authenticated = !s.acl.users.default_requires_auth();
    if let Some(c) = s.net.clients.get_mut(key) {
        c.user = Bytes::from_static(b"default");
        c.authenticated = authenticated;
        c.parser.auth_required = !authenticated;
    }
}

/// AUTH / HELLO … AUTH: on success the client is `user`'s; on failure the attempt is logged
/// (`object` is the command word as sent).
pub fn authenticate(
    s: &mut Server,
    key: usize,
    user: &[u8],
    password: &[u8],
    object: &[u8],
) -> bool {
    let ok = s
        .acl
        .users
        .get(user)
        .is_some_and(|u| u.password_ok(password));
    if ok {
        if let Some(c) = s.net.clients.get_mut(key) {
            c.user = Bytes::copy_from_slice(user);
            c.authenticated = true;
            c.parser.auth_required = false;
        }
        return true;
    }
    let ctx = context_of(s, key);
    log_event(
        s,
        key,
        Reason::Auth,
        ctx,
        object.to_vec(),
        Some(user.to_vec()),
    );
    false
}

/// SORT's BY and GET patterns read keys nobody checked: allowed only to users who may read
/// every key with this command.
pub fn full_read_access(
    s: &Server,
    key: usize,
    spec: &'static CommandSpec,
    argv: &[Bytes],
) -> bool {
    let Some(c) = s.net.clients.get(key) else {
        return true;
    };
    if c.is_primary_link() {
        return true;
    }
    match s.acl.users.get(&c.user) {
        Some(u) => u.unrestricted() || acl::check::full_read_access(u, spec, argv),
        None => true,
    }
}

/// Closes a client: the caller after its reply, any other one at once.
fn close(s: &mut Server, target: usize, caller: usize) {
    if let Some(c) = s.net.clients.get_mut(target) {
        if target == caller {
            c.close_after_reply = true;
        } else {
            c.close_asap = true;
        }
    }
}

/// ACL SETUSER changed `name` (it was `old`): its subscribers that lost a channel or pattern
/// are disconnected (`ACLKillPubsubClientsIfNeeded`).
pub fn after_setuser(s: &mut Server, caller: usize, name: &[u8], old: &acl::User) {
    let Some(new) = s.acl.users.get(name) else {
        return;
    };
    let Some(upcoming) = acl::check::lost_channels(new, old) else {
        return;
    };
    let doomed: Vec<usize> = s
        .net
        .clients
        .iter()
        .filter(|(_, c)| {
            c.user.as_ref() == name
                && c.in_pubsub()
                && acl::check::subscriber_lost(
                    &upcoming,
                    &c.patterns,
                    c.channels.iter().chain(c.shard_channels.iter()),
                )
        })
        .map(|(k, _)| k)
        .collect();
    for k in doomed {
        close(s, k, caller);
    }
}

/// ACL DELUSER of existing users (never `default`): their clients are put back to the
/// default user, unauthenticated, and closed. Returns how many users were deleted.
pub fn delete_users(s: &mut Server, caller: usize, names: &[Bytes]) -> i64 {
    let mut deleted = 0;
    for name in names {
        if !s.acl.users.delete(name) {
            continue;
        }
        deleted += 1;
        let theirs: Vec<usize> = s
            .net
            .clients
            .iter()
            .filter(|(_, c)| c.user == *name && !c.is_primary_link())
            .map(|(k, _)| k)
            .collect();
        for k in theirs {
            if let Some(c) = s.net.clients.get_mut(k) {
                c.user = Bytes::from_static(b"default");
                c.authenticated = false;
            }
            close(s, k, caller);
        }
    }
    deleted
}

/// Installs a new set of users (ACL LOAD): every client follows its user's new rules; the
/// clients of users that are gone, and subscribers who lost a channel, are closed.
fn replace_users(s: &mut Server, caller: usize, new: acl::Users) {
    let old = std::mem::replace(&mut s.acl.users, new);
    let mut lost: Vec<(Bytes, Option<Vec<Vec<u8>>>)> = Vec::new();
    let keys: Vec<usize> = s.net.clients.iter().map(|(k, _)| k).collect();
    for k in keys {
        let Some(c) = s.net.clients.get(k) else {
            continue;
        };
        if c.is_primary_link() {
            continue;
        }
        let name = c.user.clone();
        let Some(new_user) = s.acl.users.get(&name) else {
            close(s, k, caller);
            continue;
        };
        let upcoming = match lost.iter().find(|(n, _)| *n == name) {
            Some((_, u)) => u.clone(),
            None => {
                let u = old
                    .get(&name)
                    .and_then(|o| acl::check::lost_channels(new_user, o));
                lost.push((name.clone(), u.clone()));
                u
            }
        };
        let kill = upcoming.is_some_and(|up| {
            c.in_pubsub()
                && acl::check::subscriber_lost(
                    &up,
                    &c.patterns,
                    c.channels.iter().chain(c.shard_channels.iter()),
                )
        });
        if kill {
            close(s, k, caller);
        }
    }
}

/// ACL LOAD: the aclfile replaces every user, or nothing changes and the error lists every
/// broken line.
pub fn load_file(s: &mut Server, caller: usize) -> Result<(), String> {
    let name = s.cfg.aclfile.clone();
    let text = std::fs::read(&name).map_err(|e| {
        format!(
            "Error loading ACLs, opening file '{name}': {}",
            crate::config::value::os_error_text(&e)
        )
    })?;
    let users = acl::file::load(&name, &text, s.acl.users.pubsub_all)?;
    replace_users(s, caller, users);
    Ok(())
}

/// ACL SAVE: writes every user to the aclfile through a synced temporary file.
pub fn save_file(s: &Server) -> std::io::Result<()> {
    let path = std::path::PathBuf::from(s.cfg.aclfile.as_str());
    let tmp = std::path::PathBuf::from(format!(
        "{}.tmp-{}-{}",
        s.cfg.aclfile,
        std::process::id(),
        now_ms()
    ));
    let text = acl::file::save(&s.acl.users);
    let written = (|| {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if let Err(e) = &written {
        log_warning!("Saving the ACL file: {e}");
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Users at start-up (`ACLLoadUsersAtStartup`): `requirepass`, then the `user` directives,
/// then the aclfile; the error stops the server.
pub fn load_at_startup(s: &mut Server) -> Result<(), String> {
    s.acl
        .users
        .set_default_password(s.cfg.requirepass.as_bytes());
    if !s.cfg.aclfile.is_empty() && !s.cfg.users.is_empty() {
        return Err("Configuring Redwing with users defined in redwing.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redwing.conf, but not both.".into());
    }
    let users = s.cfg.users.clone();
    match s.acl.users.load_configured(&users) {
        Ok(notices) => notices.iter().for_each(|n| log_notice!("{n}")),
        Err(e) => {
            log_warning!("{e}");
            return Err("Critical error while loading ACLs. Exiting.".into());
        }
    }
    if !s.cfg.aclfile.is_empty() {
        let none = usize::MAX;
        load_file(s, none)
            .map_err(|e| format!("Aborting Redwing startup because of ACL errors: {e}"))?;
    }
    Ok(())
}

/// CONFIG SET requirepass: the default user's password follows it.
pub fn requirepass_changed(s: &mut Server) {
    let pass = s.cfg.requirepass.clone();
    s.acl.users.set_default_password(pass.as_bytes());
}

/// The `user` lines CONFIG REWRITE writes (none when an aclfile holds the users).
pub fn config_lines(s: &Server) -> Option<Vec<String>> {
    if !s.cfg.aclfile.is_empty() {
        return None;
    }
    Some(
        s.acl
            .users
            .lines()
            .into_iter()
            .map(|l| String::from_utf8_lossy(&l).into_owned())
            .collect(),
    )
}
