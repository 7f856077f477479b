//! How a command ends, and standard output that behaves as a standard tool's does: a closed
//! pipe (`kmemfuzz replay ... | head -1`) ends the command quietly, a failed write (a full
//! disk, `> /dev/full`) is a one-line error.

use std::io::{self, Write};

/// Why a command stopped before it finished.
#[derive(Debug)]
pub enum Fail {
    /// Bad input (an argument, a file that cannot be read or parsed): a one-line error,
    /// exit status 2.
    Usage(String),
    /// Standard output could not be written: a one-line error, exit status 2.
    Output(String),
    /// The reader of standard output went away: no message, exit status 141 (128 + SIGPIPE,
    /// what a shell reports for a tool that a closed pipe stopped).
    Pipe,
}

/// The exit status of a closed pipe.
pub const EXIT_PIPE: i32 = 128 + 13;

impl Fail {
    pub fn usage(msg: impl Into<String>) -> Fail {
        Fail::Usage(msg.into())
    }

    /// The exit status, printing the one-line error first.
    pub fn report(self) -> i32 {
        match self {
            Fail::Usage(m) | Fail::Output(m) => {
                // stderr may be closed too; there is nobody left to tell then.
                let _ = writeln!(io::stderr(), "kmemfuzz: {m}");
                2
            }
            Fail::Pipe => EXIT_PIPE,
        }
    }
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Fail {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Fail::Pipe
        } else {
            Fail::Output(format!("cannot write to standard output: {e}"))
        }
    }
}

/// A command's result: its exit status (0 pass, 1 a failed verdict) or why it stopped.
pub type Outcome = Result<i32, Fail>;

/// Standard output, written through `?` so that every failure is seen.
pub struct Out {
    w: Box<dyn Write>,
}

impl Out {
    pub fn stdout() -> Out {
        Out {
            w: Box::new(io::stdout().lock()),
        }
    }

    /// Output into any writer (tests).
    pub fn to(w: Box<dyn Write>) -> Out {
        Out { w }
    }

    pub fn put(&mut self, s: &str) -> Result<(), Fail> {
        self.w.write_all(s.as_bytes())?;
        Ok(())
    }

    /// Raw bytes (a fuzzer input).
    pub fn bytes(&mut self, b: &[u8]) -> Result<(), Fail> {
        self.w.write_all(b)?;
        Ok(())
    }

    pub fn line(&mut self, s: &str) -> Result<(), Fail> {
        self.put(s)?;
        self.put("\n")
    }

    /// Flushes; a failure here (a full disk seen only now) is an error too.
    pub fn finish(mut self) -> Result<(), Fail> {
        self.w.flush()?;
        Ok(())
    }
}
