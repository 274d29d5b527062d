"""E-mail channel: IMAP polling in, SMTP out, threading by Message-ID / plus-address / subject tag."""
