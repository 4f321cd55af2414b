//! A simulated guest's VNC server: RFB 3.8 (RFC 6143, accepting 3.3 and
//! 3.7 clients too) with no authentication, a blank 1024x768 screen named
//! after the guest, and input taken and ignored. It listens on loopback,
//! where QEMU's VNC servers listen, so the console proxy reaches a
//! simulated guest as it reaches a real one.

use std::io;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The screen's size: a VGA console's, whatever the flavor.
const WIDTH: u16 = 1024;
const HEIGHT: u16 = 768;

/// Security type None.
const SECURITY_NONE: u8 = 1;
/// Rectangle encodings.
const ENCODING_RAW: i32 = 0;
const ENCODING_RRE: i32 = 2;

/// One guest's VNC server; dropping it closes the listener and every
/// session, as a guest's VNC goes with the guest.
pub(super) struct RfbServer {
    port: u16,
    task: JoinHandle<()>,
}

impl RfbServer {
    /// Listens on a free loopback port (synchronously, so a caller may
    /// hold a lock); must be called within a Tokio runtime.
    pub(super) fn start(desktop_name: &str) -> io::Result<RfbServer> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(accept(listener, Arc::from(desktop_name)));
        Ok(RfbServer { port, task })
    }

    pub(super) fn host(&self) -> String {
        Ipv4Addr::LOCALHOST.to_string()
    }

    pub(super) fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for RfbServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves each connection in a session of its own (VNC desktops are
/// shared); the sessions live in a set owned by this task, so they end
/// with it.
async fn accept(listener: TcpListener, name: Arc<str>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let name = name.clone();
                    sessions.spawn(async move {
                        if let Err(e) = session(stream, &name).await {
                            tracing::debug!(error = %e, "simulated VNC session ended");
                        }
                    });
                }
                // Out of descriptors, most likely: wait rather than spin.
                Err(e) => {
                    tracing::warn!(error = %e, "simulated VNC server cannot accept");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
}

/// How the client wants its pixels, as far as a blank screen cares.
struct ClientSettings {
    bytes_per_pixel: usize,
    rre: bool,
}

/// One client: the handshake, then its messages until it leaves.
async fn session(stream: TcpStream, name: &str) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);

    writer.write_all(b"RFB 003.008\n").await?;
    let mut version = [0u8; 12];
    reader.read_exact(&mut version).await?;
    let minor = client_minor_version(&version)?;
    if minor >= 7 {
        writer.write_all(&[1, SECURITY_NONE]).await?;
        let chosen = reader.read_u8().await?;
        if chosen != SECURITY_NONE {
            if minor >= 8 {
                let reason = b"only security type None is offered";
                let mut failed = vec![0, 0, 0, 1];
                failed.extend_from_slice(&(reason.len() as u32).to_be_bytes());
                failed.extend_from_slice(reason);
                writer.write_all(&failed).await?;
            }
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("security type {chosen} asked for")));
        }
        // 3.7 reports no result for None; 3.8 does.
        if minor >= 8 {
            writer.write_all(&0u32.to_be_bytes()).await?;
        }
    } else {
        // 3.3: the server names the one security type.
        writer.write_all(&u32::from(SECURITY_NONE).to_be_bytes()).await?;
    }
    let _shared = reader.read_u8().await?;
    writer.write_all(&server_init(name)).await?;

    let mut settings = ClientSettings { bytes_per_pixel: 4, rre: false };
    loop {
        match reader.read_u8().await? {
            // SetPixelFormat: padding, then the format; bits-per-pixel first.
            0 => {
                let mut body = [0u8; 19];
                reader.read_exact(&mut body).await?;
                settings.bytes_per_pixel = match body[3] {
                    8 => 1,
                    16 => 2,
                    32 => 4,
                    bits => {
                        let message = format!("{bits} bits per pixel asked for");
                        return Err(io::Error::new(io::ErrorKind::InvalidData, message));
                    }
                };
            }
            // SetEncodings: padding, a count, the encodings.
            2 => {
                reader.read_u8().await?;
                let count = reader.read_u16().await?;
                settings.rre = false;
                for _ in 0..count {
                    settings.rre |= reader.read_i32().await? == ENCODING_RRE;
                }
            }
            // FramebufferUpdateRequest: a blank screen changes never, so
            // only a full (non-incremental) request gets an answer.
            3 => {
                let incremental = reader.read_u8().await? != 0;
                let mut area = [0u16; 4];
                for v in &mut area {
                    *v = reader.read_u16().await?;
                }
                if !incremental {
                    writer.write_all(&blank_update(area, &settings)).await?;
                }
            }
            // KeyEvent and PointerEvent: taken and ignored.
            4 => {
                let mut body = [0u8; 7];
                reader.read_exact(&mut body).await?;
            }
            5 => {
                let mut body = [0u8; 5];
                reader.read_exact(&mut body).await?;
            }
            // ClientCutText: padding, a length, the text.
            6 => {
                let mut padding = [0u8; 3];
                reader.read_exact(&mut padding).await?;
                let length = reader.read_u32().await?;
                tokio::io::copy(&mut (&mut reader).take(u64::from(length)), &mut tokio::io::sink()).await?;
            }
            other => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("unknown client message {other}")));
            }
        }
    }
}

/// The minor version a `RFB 003.00x\n` greeting asks for; versions this
/// server does not know are answered as 3.3 (RFC 6143, 7.1.1).
fn client_minor_version(greeting: &[u8; 12]) -> io::Result<u32> {
    let text = std::str::from_utf8(greeting).ok();
    let parsed = text
        .and_then(|t| t.strip_prefix("RFB "))
        .and_then(|t| t.strip_suffix('\n'))
        .and_then(|t| t.split_once('.'))
        .and_then(|(major, minor)| Some((major.parse::<u32>().ok()?, minor.parse::<u32>().ok()?)));
    match parsed {
        Some((3, 8)) => Ok(8),
        Some((3, 7)) => Ok(7),
        Some(_) => Ok(3),
        None => Err(io::Error::new(io::ErrorKind::InvalidData, "not an RFB client")),
    }
}

/// ServerInit: the screen's size, its pixel format (32-bit true colour,
/// little-endian, 8 bits a channel) and the desktop's name, in one write
/// so that it reaches a WebSocket client as one frame.
fn server_init(name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + name.len());
    out.extend_from_slice(&WIDTH.to_be_bytes());
    out.extend_from_slice(&HEIGHT.to_be_bytes());
    // bits-per-pixel, depth, big-endian, true-colour
    out.extend_from_slice(&[32, 24, 0, 1]);
    // red, green, blue maxima
    for max in [255u16; 3] {
        out.extend_from_slice(&max.to_be_bytes());
    }
    // red, green, blue shifts, then padding
    out.extend_from_slice(&[16, 8, 0, 0, 0, 0]);
    out.extend_from_slice(&(name.len() as u32).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out
}

/// A FramebufferUpdate painting the asked-for area (within the screen)
/// black: one RRE rectangle with no subrectangles where the client takes
/// RRE, raw zeros otherwise.
fn blank_update([x, y, w, h]: [u16; 4], settings: &ClientSettings) -> Vec<u8> {
    let x = x.min(WIDTH);
    let y = y.min(HEIGHT);
    let w = w.min(WIDTH - x);
    let h = h.min(HEIGHT - y);
    let mut out = vec![0, 0, 0, 1];
    for v in [x, y, w, h] {
        out.extend_from_slice(&v.to_be_bytes());
    }
    if settings.rre {
        out.extend_from_slice(&ENCODING_RRE.to_be_bytes());
        out.extend_from_slice(&0u32.to_be_bytes());
        out.resize(out.len() + settings.bytes_per_pixel, 0);
    } else {
        out.extend_from_slice(&ENCODING_RAW.to_be_bytes());
        out.resize(out.len() + usize::from(w) * usize::from(h) * settings.bytes_per_pixel, 0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(client_minor_version(b"RFB 003.008\n").unwrap(), 8);
        assert_eq!(client_minor_version(b"RFB 003.889\n").unwrap(), 3);
        assert_eq!(client_minor_version(b"RFB 003.007\n").unwrap(), 7);
        assert_eq!(client_minor_version(b"RFB 003.005\n").unwrap(), 3);
        assert!(client_minor_version(b"GET / HTTP/1").is_err());
    }

    #[test]
    fn server_init_is_24_bytes_and_the_name() {
        let init = server_init("web-1");
        assert_eq!(init.len(), 24 + 5);
        assert_eq!(&init[..4], &[4, 0, 3, 0]);
        assert_eq!(&init[20..24], &[0, 0, 0, 5]);
        assert_eq!(&init[24..], b"web-1");
    }

    #[test]
    fn updates_stay_within_the_screen() {
        let raw = ClientSettings { bytes_per_pixel: 4, rre: false };
        assert_eq!(blank_update([1000, 0, 100, 2], &raw).len(), 16 + 24 * 2 * 4);
        let rre = ClientSettings { bytes_per_pixel: 2, rre: true };
        assert_eq!(blank_update([0, 0, WIDTH, HEIGHT], &rre).len(), 16 + 4 + 2);
    }
}
