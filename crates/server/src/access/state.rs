//! The ACL state the server holds: the users (the pure `acl` crate's registry) and the ACL
//! LOG. Data only; what acts on it is [`crate::access`].

#[derive(Debug)]
pub struct AclState {
    pub users: acl::Users,
    pub log: acl::AclLog,
}

impl AclState {
    pub fn new(pubsub_all: bool) -> AclState {
        AclState {
            users: acl::Users::new(pubsub_all),
            log: acl::AclLog::default(),
        }
    }
}
