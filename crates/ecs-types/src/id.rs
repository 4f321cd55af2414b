//! Typed identifiers: one newtype per kind of resource, so that a volume's
//! id cannot be given where a port's is expected (two ids of one request,
//! as a swap's old and new volume, stay distinct types from everything
//! else). Stored and rendered as the plain string (`serde(transparent)`);
//! the store, which speaks SQL, takes them as `&str` through `Deref`.

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                $name(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    )+};
}

typed_id! {
    /// A volume (Cinder volume, EVS disk).
    VolumeId;
    /// A Neutron port (a server's NIC).
    PortId;
    /// A Glance image.
    ImageId;
    /// A Neutron network (a VPC subnet's id in ECS).
    NetworkId;
    /// A Neutron subnet.
    SubnetId;
    /// A floating IP (an EIP).
    FloatingIpId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_plain_strings_on_the_wire() {
        let id = VolumeId::new("v-1");
        assert_eq!(serde_json::to_value(&id).unwrap(), serde_json::json!("v-1"));
        assert_eq!(serde_json::from_value::<VolumeId>(serde_json::json!("v-1")).unwrap(), id);
        assert_eq!((&*id, id.to_string()), ("v-1", "v-1".to_string()));
    }
}
