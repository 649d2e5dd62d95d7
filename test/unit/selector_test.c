/* Label selectors: parsing, validation as the API server does it, and
 * matching (matchLabels, In, NotIn, Exists, DoesNotExist). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "selector.h"
#include "test.h"

static struct arena A;

/* JSON with ' for " (keeps the tests readable) */
static const char *q(const char *s)
{
	char *d = arena_strdup(&A, s), *p;

	for (p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static int parse_doc(const char *text, struct json_doc *d)
{
	text = q(text);
	return json_parse(d, &A, text, strlen(text), NULL, NULL);
}

static int sel(const char *text, struct selector *s, struct json_err *e)
{
	struct json_doc d;

	if (parse_doc(text, &d) < 0)
		return -99;
	return selector_parse(&d, 0, &A, s, e);
}

static struct selector_labels labels(const char *text)
{
	struct selector_labels l;
	struct json_doc d;

	memset(&l, 0, sizeof(l));
	if (parse_doc(text, &d) == 0)
		CHECK(selector_parse_labels(&d, 0, &A, &l, NULL) == 0);
	return l;
}

/* does selector text match labels text */
static int m(const char *s, const char *l)
{
	struct selector x;
	struct selector_labels y = labels(l);

	if (sel(s, &x, NULL) < 0)
		return -1;
	return selector_match(&x, &y);
}

static void test_empty_matches_all(void)
{
	CHECK_INT(m("{}", "{}"), 1);
	CHECK_INT(m("{}", "{'a':'b'}"), 1);
	CHECK_INT(m("null", "{'a':'b'}"), 1);
	CHECK_INT(m("{'matchLabels':{}}", "{'a':'b'}"), 1);
	CHECK_INT(m("{'matchExpressions':[]}", "{}"), 1);
}

static void test_match_labels(void)
{
	CHECK_INT(m("{'matchLabels':{'pod':'a'}}", "{'pod':'a'}"), 1);
	CHECK_INT(m("{'matchLabels':{'pod':'a'}}", "{'pod':'a','x':'y'}"), 1);
	CHECK_INT(m("{'matchLabels':{'pod':'a'}}", "{'pod':'b'}"), 0);
	CHECK_INT(m("{'matchLabels':{'pod':'a'}}", "{}"), 0);
	CHECK_INT(m("{'matchLabels':{'pod':'a','ns':'x'}}", "{'pod':'a'}"), 0);
	CHECK_INT(m("{'matchLabels':{'pod':'a','ns':'x'}}",
		    "{'ns':'x','pod':'a'}"), 1);
	CHECK_INT(m("{'matchLabels':{'e':''}}", "{'e':''}"), 1);
	CHECK_INT(m("{'matchLabels':{'e':''}}", "{}"), 0);
}

static void test_expressions(void)
{
	const char *in = "{'matchExpressions':[{'key':'pod','operator':'In',"
			 "'values':['a','b']}]}";
	const char *notin = "{'matchExpressions':[{'key':'pod','operator':"
			    "'NotIn','values':['a','b']}]}";
	const char *ex = "{'matchExpressions':[{'key':'pod','operator':"
			 "'Exists'}]}";
	const char *dne = "{'matchExpressions':[{'key':'pod','operator':"
			  "'DoesNotExist','values':[]}]}";

	CHECK_INT(m(in, "{'pod':'a'}"), 1);
	CHECK_INT(m(in, "{'pod':'b'}"), 1);
	CHECK_INT(m(in, "{'pod':'c'}"), 0);
	CHECK_INT(m(in, "{}"), 0);
	CHECK_INT(m(notin, "{'pod':'a'}"), 0);
	CHECK_INT(m(notin, "{'pod':'c'}"), 1);
	CHECK_INT(m(notin, "{}"), 1);	/* key absent: NotIn holds */
	CHECK_INT(m(ex, "{'pod':''}"), 1);
	CHECK_INT(m(ex, "{}"), 0);
	CHECK_INT(m(dne, "{}"), 1);
	CHECK_INT(m(dne, "{'pod':'a'}"), 0);
}

static void test_and_of_everything(void)
{
	const char *s = "{'matchLabels':{'app':'web'},'matchExpressions':["
			"{'key':'tier','operator':'In','values':['fe']},"
			"{'key':'canary','operator':'DoesNotExist'}]}";

	CHECK_INT(m(s, "{'app':'web','tier':'fe'}"), 1);
	CHECK_INT(m(s, "{'app':'web','tier':'fe','canary':'1'}"), 0);
	CHECK_INT(m(s, "{'app':'web','tier':'be'}"), 0);
	CHECK_INT(m(s, "{'tier':'fe'}"), 0);
}

static void test_invalid_selectors(void)
{
	struct selector s;
	struct json_err e;

	CHECK(sel("{'matchExpressions':[{'key':'a','operator':'In'}]}",
		  &s, &e) == -EINVAL);
	CHECK(strstr(e.msg, "matchExpressions[0].values") != NULL);
	CHECK(sel("{'matchExpressions':[{'key':'a','operator':'In',"
		  "'values':[]}]}", &s, &e) == -EINVAL);
	CHECK(sel("{'matchExpressions':[{'key':'a','operator':'Exists',"
		  "'values':['x']}]}", &s, &e) == -EINVAL);
	CHECK(sel("{'matchExpressions':[{'key':'a','operator':'Like',"
		  "'values':['x']}]}", &s, &e) == -EINVAL);
	CHECK(strstr(e.msg, "unsupported value \"Like\"") != NULL);
	CHECK(sel("{'matchExpressions':[{'operator':'Exists'}]}", &s, &e) ==
	      -EINVAL);
	CHECK(strstr(e.msg, "key: required") != NULL);
	CHECK(sel("{'matchExpressions':[{'key':'-a','operator':'Exists'}]}",
		  &s, &e) == -EINVAL);
	CHECK(sel("{'matchExpressions':[{'key':'a','operator':'In',"
		  "'values':['b c']}]}", &s, &e) == -EINVAL);
	CHECK(sel("{'matchLabels':{'a':'b c'}}", &s, &e) == -EINVAL);
	CHECK(strstr(e.msg, "matchLabels") != NULL);
	CHECK(sel("{'matchLabels':{'a':1}}", &s, &e) == -EINVAL);
	CHECK(sel("{'matchLabels':[]}", &s, &e) == -EINVAL);
	CHECK(sel("{'matchExpressions':{}}", &s, &e) == -EINVAL);
	CHECK(sel("{'matchExpressions':[1]}", &s, &e) == -EINVAL);
	CHECK(sel("[]", &s, &e) == -EINVAL);
}

static void test_keys_and_values(void)
{
	char long63[64], long64[65], pfx[300];

	memset(long63, 'a', 63);
	long63[63] = 0;
	memset(long64, 'a', 64);
	long64[64] = 0;
	CHECK(selector_key_valid("a"));
	CHECK(selector_key_valid("app.kubernetes.io/name"));
	CHECK(selector_key_valid("kubernetes.io/metadata.name"));
	CHECK(selector_key_valid("A_b-c.D"));
	CHECK(selector_key_valid(long63));
	CHECK(!selector_key_valid(long64));
	CHECK(!selector_key_valid(""));
	CHECK(!selector_key_valid("-a"));
	CHECK(!selector_key_valid("a-"));
	CHECK(!selector_key_valid("a b"));
	CHECK(!selector_key_valid("/a"));
	CHECK(!selector_key_valid("a/"));
	CHECK(!selector_key_valid("Example.com/a"));	/* lowercase */
	CHECK(!selector_key_valid("a/b/c"));
	memset(pfx, 'a', 254);
	strcpy(pfx + 254, "/x");
	CHECK(!selector_key_valid(pfx));		/* prefix > 253 */
	CHECK(selector_value_valid(""));
	CHECK(selector_value_valid("v1.2_3-x"));
	CHECK(!selector_value_valid("-v"));
	CHECK(!selector_value_valid(long64));
	CHECK(!selector_value_valid("a/b"));
	CHECK(selector_dns_label("kube-system"));
	CHECK(!selector_dns_label("Kube"));
	CHECK(!selector_dns_label("a.b"));
	CHECK(selector_dns_subdomain("a.b-c.d"));
	CHECK(!selector_dns_subdomain("a..b"));
	CHECK(!selector_dns_subdomain("a_b"));
}

static void test_labels(void)
{
	struct selector_labels l = labels("{'a':'1','b':'2','a':'3'}");
	struct json_doc d;

	CHECK_INT(l.n, 2);
	CHECK_STR(selector_get(&l, "a"), "3");	/* the last one wins */
	CHECK_STR(selector_get(&l, "b"), "2");
	CHECK(selector_get(&l, "c") == NULL);
	CHECK(parse_doc("{'a b':'1'}", &d) == 0);
	CHECK(selector_parse_labels(&d, 0, &A, &l, NULL) == -EINVAL);
	CHECK(parse_doc("{'a':null}", &d) == 0);
	CHECK(selector_parse_labels(&d, 0, &A, &l, NULL) < 0);
	CHECK(parse_doc("null", &d) == 0);
	CHECK(selector_parse_labels(&d, 0, &A, &l, NULL) == 0 && l.n == 0);
}

int main(void)
{
	arena_init(&A);
	RUN(test_empty_matches_all);
	RUN(test_match_labels);
	RUN(test_expressions);
	RUN(test_and_of_everything);
	RUN(test_invalid_selectors);
	RUN(test_keys_and_values);
	RUN(test_labels);
	arena_free_all(&A);
	return test_done();
}
