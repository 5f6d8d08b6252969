//! Service output in `log = "prefix"` mode: bytes from a service's pipe become whole
//! lines, each written as `[name] line` with one write, so lines from different services
//! never interleave mid-line. A line longer than [`MAX_LINE`] is cut into pieces (memory
//! stays bounded); pieces after the first are marked `[name]+ `.

/// The longest piece of a line that is kept before it is cut.
pub const MAX_LINE: usize = 16 * 1024;

/// A piece of output ready to frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: Vec<u8>,
    /// This piece continues the previous one (the line was longer than MAX_LINE).
    pub continued: bool,
}

/// Collects a stream's bytes into lines.
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: Vec<u8>,
    /// The pending bytes continue a line that was already cut.
    continuing: bool,
}

impl LineBuffer {
    /// Add `data`; every complete line (and every MAX_LINE piece of an overlong one) is
    /// appended to `out`. Bytes after the last newline wait for more.
    pub fn push(&mut self, data: &[u8], out: &mut Vec<Line>) {
        let mut rest = data;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            let (head, tail) = rest.split_at(pos);
            self.append(head, out);
            let mut text = std::mem::take(&mut self.pending);
            if text.last() == Some(&b'\r') {
                text.pop();
            }
            out.push(Line {
                text,
                continued: std::mem::take(&mut self.continuing),
            });
            rest = tail.get(1..).unwrap_or_default();
        }
        self.append(rest, out);
    }

    /// The stream ended: what is left is the last line.
    pub fn finish(&mut self, out: &mut Vec<Line>) {
        if !self.pending.is_empty() {
            let text = std::mem::take(&mut self.pending);
            out.push(Line {
                text,
                continued: std::mem::take(&mut self.continuing),
            });
        }
        self.continuing = false;
    }

    /// Add bytes with no newline in them, cutting off full pieces.
    fn append(&mut self, mut bytes: &[u8], out: &mut Vec<Line>) {
        while !bytes.is_empty() {
            let room = MAX_LINE.saturating_sub(self.pending.len());
            if room == 0 {
                let text = std::mem::take(&mut self.pending);
                out.push(Line {
                    text,
                    continued: self.continuing,
                });
                self.continuing = true;
                continue;
            }
            let (now, later) = bytes.split_at(room.min(bytes.len()));
            self.pending.extend_from_slice(now);
            bytes = later;
        }
    }
}

/// `[name] text\n` (or `[name]+ text\n` for a continued piece), ready for one write(2).
pub fn frame(name: &str, line: &Line) -> Vec<u8> {
    let mut framed = Vec::with_capacity(name.len() + line.text.len() + 5);
    framed.push(b'[');
    framed.extend_from_slice(name.as_bytes());
    framed.extend_from_slice(if line.continued { b"]+ " } else { b"] " });
    framed.extend_from_slice(&line.text);
    framed.push(b'\n');
    framed
}

/// One line as an RFC 3164 datagram for /dev/log: facility daemon, severity info for
/// stdout and err for stderr, the service name as the tag.
pub fn syslog_datagram(name: &str, from_stderr: bool, text: &[u8]) -> Vec<u8> {
    let pri = 3 * 8 + if from_stderr { 3 } else { 6 };
    let mut d = format!("<{pri}>{name}: ").into_bytes();
    d.extend_from_slice(text);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], finish: bool) -> Vec<(String, bool)> {
        let mut buf = LineBuffer::default();
        let mut out = Vec::new();
        for c in chunks {
            buf.push(c, &mut out);
        }
        if finish {
            buf.finish(&mut out);
        }
        out.into_iter()
            .map(|l| (String::from_utf8_lossy(&l.text).into_owned(), l.continued))
            .collect()
    }

    #[test]
    fn splits_on_newlines_across_chunks() {
        let got = lines(&[b"one\ntw", b"o\n", b"\nthree\r\nfour"], false);
        assert_eq!(
            got,
            [
                ("one".into(), false),
                ("two".into(), false),
                ("".into(), false),
                ("three".into(), false)
            ]
        );
        let got = lines(&[b"one\ntw", b"o\n", b"\nthree\r\nfour"], true);
        assert_eq!(got.last(), Some(&("four".to_string(), false)));
        assert!(lines(&[b""], true).is_empty());
    }

    #[test]
    fn overlong_lines_are_cut_into_marked_pieces() {
        let long = vec![b'x'; MAX_LINE * 2 + 10];
        let mut input = long.clone();
        input.extend_from_slice(b"\nnext\n");
        // Fed in awkward chunk sizes, the result is the same.
        for chunk in [1usize, 7, 4096, MAX_LINE, input.len()] {
            let chunks: Vec<&[u8]> = input.chunks(chunk).collect();
            let got = lines(&chunks, true);
            let sizes: Vec<(usize, bool)> = got.iter().map(|(t, c)| (t.len(), *c)).collect();
            assert_eq!(
                sizes,
                [(MAX_LINE, false), (MAX_LINE, true), (10, true), (4, false)],
                "chunk {chunk}"
            );
        }
        // A line of exactly MAX_LINE is not cut.
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert_eq!(lines(&[&exact], true).len(), 1);
    }

    #[test]
    fn frames() {
        let plain = Line {
            text: b"hello".to_vec(),
            continued: false,
        };
        assert_eq!(frame("crond", &plain), b"[crond] hello\n");
        let cont = Line {
            text: b"rest".to_vec(),
            continued: true,
        };
        assert_eq!(frame("sshd", &cont), b"[sshd]+ rest\n");
        let binary = Line {
            text: vec![0xff, 0x00, b'a'],
            continued: false,
        };
        assert_eq!(
            frame("x", &binary),
            [b'[', b'x', b']', b' ', 0xff, 0x00, b'a', b'\n']
        );
    }
}
