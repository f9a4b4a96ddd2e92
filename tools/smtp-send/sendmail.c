/* Under the name "sendmail": the flags that cron (-FCronDaemon -i -B8BITMIME -oem),
   PHP's mail() (-t -i [-f ADDR]), git send-email (-i -f ADDR ADDR...), mutt
   (-oem -oi --) and other callers of /usr/sbin/sendmail pass. Each is accepted only
   when this program does what it asks or it changes nothing here; what it cannot do
   (a queue, a daemon, SMTP on standard input, an alias database) is refused with
   EX_USAGE naming the flag, never silently ignored. */
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "smtp-send.h"

const char ss_sendmail_shortopts[] = "r:o:b:q::B:N:R:V:vUG";

/* -oX: sendmail's option letters. */
static int o_flag(struct ss_cmdline *c, const char *arg)
{
	/* -oi: a lone dot does not end the message (like -i) */
	if (strcmp(arg, "i") == 0) {
		c->dot_ends = 0;
		return 0;
	}
	/* -oe[mepqw]: how errors are reported (the exit status and standard error say
	   it here); -od[bidq]: delivery mode (the message is always sent now, before the
	   exit); -om: send to the sender too if listed (the list is the caller's) */
	if ((arg[0] == 'e' && arg[1] && strchr("empqw", arg[1]) && !arg[2]) ||
	    (arg[0] == 'd' && arg[1] && strchr("bidq", arg[1]) && !arg[2]) ||
	    strcmp(arg, "m") == 0)
		return 0;
	char name[32];
	snprintf(name, sizeof name, "-o%.20s", arg);
	return ss_usage_error(name, "not a sendmail option this program can honour "
			      "(accepted: -oi, -oem, -oee, -oep, -oeq, -oew, -odb, -odi, -odq, -om)");
}

/* -bX: the mode. Only -bm (deliver a message read from standard input) is ours. */
static int b_flag(const char *arg)
{
	if (strcmp(arg, "m") == 0)
		return 0;
	static const struct {
		const char *mode, *what;
	} modes[] = {
		{"s", "SMTP on standard input"},   {"d", "running as a daemon"},
		{"D", "running as a daemon"},      {"p", "listing a mail queue (there is none)"},
		{"i", "an alias database"},        {"v", "verifying addresses"},
		{"t", "address test mode"},        {"h", "host status"},
		{"P", "queue status"},             {"a", "ARPANET mode"},
	};
	char name[32];
	snprintf(name, sizeof name, "-b%.20s", arg);
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(arg, modes[i].mode) == 0) {
			char why[128];
			snprintf(why, sizeof why, "%s is not supported: this sendmail only submits "
				 "one message from standard input (-bm)", modes[i].what);
			return ss_usage_error(name, why);
		}
	return ss_usage_error(name, "unknown mode (only -bm is supported)");
}

int ss_sendmail_flag(struct ss_cmdline *c, int flag, const char *arg)
{
	switch (flag) {
	case 'r': /* the old name of -f */
		c->from = arg;
		return 0;
	case 'o':
		return o_flag(c, arg);
	case 'b':
		return b_flag(arg);
	case 'q':
		return ss_usage_error("-q", "there is no mail queue to run: every message is "
				      "sent before this program exits");
	case 'B':
		/* the body type is found from the content (8BITMIME declared when needed) */
		if (strcmp(arg, "8BITMIME") == 0 || strcmp(arg, "7BIT") == 0)
			return 0;
		return ss_fail(EX_USAGE, "-B '%s': expected 8BITMIME or 7BIT", arg);
	case 'N':
		return ss_parse_notify("-N", arg, &c->notify);
	case 'R':
		return ss_parse_ret("-R", arg, &c->ret);
	case 'V':
		c->envid = arg;
		return 0;
	case 'v':
		c->trace = 1;
		return 0;
	case 'U': /* initial user submission: what every message here is */
	case 'G': /* a relayed message: the relay's checks are the server's */
		return 0;
	default:
		return ss_fail(EX_SOFTWARE, "option %d: not handled", flag);
	}
}
