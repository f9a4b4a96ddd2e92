/* password-reset: a text + HTML mail with a PDF attached, DKIM-signed (d= the From
   domain), through a submission server (smtp:// is STARTTLS, required).
     password-reset smtp://user:pass@host:587 FROM TO FILE.pdf DKIM-KEY.pem SELECTOR */
#include <smtp.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 7 || !strchr(argv[2], '@')) {
		fputs("usage: password-reset URL FROM TO FILE.pdf DKIM-KEY.pem SELECTOR\n", stderr);
		return 2;
	}
	smtp_compose *c = smtp_compose_new();
	smtp_dkim *d = smtp_dkim_new();
	smtp_message *m = smtp_message_new();
	smtp_session *s = smtp_session_new();
	int rc;
	if ((rc = smtp_compose_set_from(c, argv[2], "Example Support")) ||
	    (rc = smtp_compose_add_to(c, argv[3], NULL)) ||
	    (rc = smtp_compose_set_subject(c, "Reset your password")) ||
	    (rc = smtp_compose_set_text(c, "Choose a new password: https://example.org/r/42\n")) ||
	    (rc = smtp_compose_set_html(c, "<a href=\"https://example.org/r/42\">Reset</a>\n")) ||
	    (rc = smtp_compose_add_attachment_file(c, argv[4], "invoice.pdf", NULL)) ||
	    (rc = smtp_dkim_set_domain(d, strchr(argv[2], '@') + 1, argv[6])) ||
	    (rc = smtp_dkim_set_key_file(d, argv[5])) || (rc = smtp_compose_add_dkim(c, d)) ||
	    (rc = smtp_compose_to_message(c, m)) || (rc = smtp_session_set_url(s, argv[1])))
		fprintf(stderr, "password-reset: %s\n", smtp_error_text(rc));
	else if ((rc = smtp_send(s, m)) == 0)
		smtp_quit(s);
	char report[8192];
	smtp_report_text(smtp_message_report(m), report, sizeof report);
	fputs(report, stdout);
	smtp_session_free(s);
	smtp_message_free(m);
	smtp_dkim_free(d);
	smtp_compose_free(c);
	return rc ? 1 : 0;
}
