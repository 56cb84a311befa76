//! The network layer: listening sockets, connections and the clients on them.
//!
//! Nothing here knows about commands, the keyspace or replication: a [`client::Client`] is a
//! connection with its buffers and per-connection state, and [`Net`] is the registry of them.

pub mod client;
pub mod migrate;
pub mod tls;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::BytesMut;
use mio::net::{TcpListener, UnixListener};
use mio::{Interest, Poll, Token, Waker};
use slab::Slab;

pub use client::{Client, Conn};

/// The waker's token; listeners and clients have their own ranges.
pub const WAKER: Token = Token(0);
pub const LISTENER_BASE: usize = 1;
pub const CLIENT_BASE: usize = 1024;

pub enum Listener {
    Tcp(TcpListener),
    /// `tls-port`: accepted connections start a TLS handshake.
    Tls(TcpListener),
    Unix(UnixListener),
}

/// Network and clients.
pub struct Net {
    pub poll: Poll,
    pub clients: Clients,
    pub listeners: Vec<Listener>,
    pub next_client_id: u64,
    /// Clients with input to read again without a new readiness event.
    pub pending_read: VecDeque<usize>,
    /// Clients (slab key, id) that read input in this loop iteration, to be processed.
    pub ready: Vec<(usize, u64)>,
    /// Clients unblocked outside the execution core (CLIENT UNBLOCK, WAIT satisfied, a
    /// replica role change): their pending input is processed by the event loop.
    pub resume: Vec<usize>,
    /// Wakes the event loop from background threads.
    pub waker: Arc<Waker>,
    /// The TLS contexts, once `tls-port` or `tls-replication` asked for them.
    pub tls: Option<tls::TlsContext>,
    /// Query buffers lent to clients for their reads.
    pub query_pool: QueryPool,
    /// MIGRATE's connections to its targets.
    pub migrate: migrate::MigrateSockets,
}

/// Query buffers lent to ordinary clients for their reads, Valkey 8's shared query buffer
/// ("thread_shared_qb") for an event loop that reads every ready client before running any:
/// one buffer per client read in the same loop iteration instead of one per connection, so an
/// idle client holds no input buffer at all. A client gives its buffer back once everything in
/// it was parsed and run ([`crate::core::input::trim_query`]); with an incomplete command left
/// it keeps the buffer as its own, until the clients cron frees it.
#[derive(Default)]
pub struct QueryPool {
    spare: Vec<BytesMut>,
}

impl QueryPool {
    /// Size of a lent buffer, and of one read (Valkey's PROTO_IOBUF_LEN).
    pub const BUF: usize = 16 * 1024;
    /// Most spare buffers kept between loop iterations (the rest are freed).
    const KEEP: usize = 32;

    /// A buffer with room for one read.
    pub fn lend(&mut self) -> BytesMut {
        self.spare
            .pop()
            .unwrap_or_else(|| BytesMut::with_capacity(Self::BUF))
    }

    /// Takes back a buffer whose content was all consumed. A buffer grown beyond two reads
    /// (a pipeline's burst) is freed rather than kept.
    pub fn give_back(&mut self, mut buf: BytesMut) {
        buf.clear();
        // Reclaims the consumed front of the allocation when no argument still refers to it.
        buf.reserve(Self::BUF);
        if self.spare.len() < Self::KEEP && buf.capacity() <= 2 * Self::BUF {
            self.spare.push(buf);
        }
    }

    /// Bytes held by the spare buffers.
    pub fn spare_bytes(&self) -> usize {
        self.spare.iter().map(|b| b.capacity()).sum()
    }
}

/// The connected clients, by slab key (stable while the client lives; the event loop's token)
/// and by id. There is no indexing: a lookup of a key or id that went stale (the client was
/// freed) is `None`, never a panic.
#[derive(Default)]
pub struct Clients {
    slab: Slab<Client>,
    by_id: HashMap<u64, usize>,
}

impl Clients {
    pub fn get(&self, key: usize) -> Option<&Client> {
        self.slab.get(key)
    }

    pub fn get_mut(&mut self, key: usize) -> Option<&mut Client> {
        self.slab.get_mut(key)
    }

    pub fn contains(&self, key: usize) -> bool {
        self.slab.contains(key)
    }

    pub fn len(&self) -> usize {
        self.slab.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (usize, &Client)> {
        self.slab.iter()
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = (usize, &mut Client)> {
        self.slab.iter_mut()
    }

    /// The slab key of the client with this id, if it is still connected.
    pub fn key_of(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The key the next client will get (its token is derived from it).
    fn next_key(&self) -> usize {
        self.slab.vacant_key()
    }

    fn insert(&mut self, c: Client) -> usize {
        let id = c.id;
        let key = self.slab.insert(c);
        self.by_id.insert(id, key);
        key
    }

    /// Removes a client; `None` if the key is stale.
    pub fn remove(&mut self, key: usize) -> Option<Client> {
        let c = self.slab.try_remove(key)?;
        self.by_id.remove(&c.id);
        Some(c)
    }
}

impl Net {
    /// The slab key of the client with this id, if it is still connected.
    pub fn client_key(&self, id: u64) -> Option<usize> {
        self.clients.key_of(id)
    }

    /// Registers a connection with the poller and adds its client; returns its slab key.
    /// `max_bulk` is `proto-max-bulk-len` for the client's parser.
    pub fn add_client(
        &mut self,
        mut conn: Conn,
        addr: String,
        laddr: String,
        max_bulk: usize,
    ) -> std::io::Result<usize> {
        let token = Token(CLIENT_BASE + self.clients.next_key());
        self.poll.registry().register(
            conn.source(),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let id = self.next_client_id;
        self.next_client_id += 1;
        let now = crate::util::now_ms();
        let key = self
            .clients
            .insert(Client::new(id, token, conn, addr, laddr, now, max_bulk));
        Ok(key)
    }

    /// Registers an outgoing connection (a replica's link to its primary, `link` being the
    /// follower's id of it) as a client.
    pub fn add_outgoing(&mut self, conn: Conn, addr: String, link: u64) -> std::io::Result<usize> {
        let key = self.add_client(conn, addr, String::new(), usize::MAX)?;
        if let Some(c) = self.clients.get_mut(key) {
            c.authenticated = true;
            c.role = client::Role::PrimaryLink {
                link,
                streaming: false,
            };
            c.connecting = true;
        }
        Ok(key)
    }

    /// The client with this id, if it is still connected.
    pub fn client_by_id(&mut self, id: u64) -> Option<&mut Client> {
        let key = self.client_key(id)?;
        self.clients.get_mut(key)
    }
}
