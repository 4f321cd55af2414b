//! Domain types shared by every layer of ecsd: the store returns them, the
//! core reasons about them and the API renders them.
//!
//! Nothing here knows about HTTP or SQL.

pub mod aggregate;
pub mod clock;
pub mod compute;
pub mod id;
pub mod identity;
pub mod image;
pub mod migration;
pub mod neutron;
pub mod random;
pub mod server;
pub mod volume;

pub use aggregate::Aggregate;
pub use compute::{
    EipAttrs, Flavor, FlavorSpec, FloatingIp, Image, Keypair, KeypairType, Network, SecurityGroup, SecurityGroupRule,
    ServerGroup, Subnet,
};
pub use id::{FloatingIpId, ImageId, NetworkId, PortId, SubnetId, VolumeId};
pub use identity::{
    AccessRule, AppCredentialRef, ApplicationCredential, AuthContext, Domain, Project, Role, RoleAssignment,
    TokenRecord, User,
};

/// A point in time, always UTC. Stored as microseconds since the epoch.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A new random identifier in Keystone's style: 32 lower-case hex digits.
#[track_caller]
pub fn new_hex_id() -> String {
    random::uuid().simple().to_string()
}
