//! The Qivr load generator: idle connections, fan-out, chat, reconnect storms and slow
//! consumers against the hub, side by side with a bare broadcast server and Socket.IO.

fn main() {
    eprintln!("no scenarios yet: the hub issue adds the first one");
    std::process::exit(2);
}
