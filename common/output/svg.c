// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --svg: a flame graph written directly, so a production box needs no Perl
 * and no flamegraph.pl. One file with an inline script: hover shows the
 * frame's faults, click zooms into a frame, "Search" highlights frames
 * matching a regular expression and says what share of faults they hold.
 * Colours are the memory palette of flamegraph.pl (greens and blues), picked
 * by a hash of the name so the same function has the same colour in every
 * graph.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"

#define SVG_W	1200
#define SVG_PAD 10
#define FRAME_H 16
#define HEAD_H	50
#define FOOT_H	30
#define MIN_PX	0.1

struct node {
	char *name;
	uint64_t count;
	struct node *child, *next;
};

static struct node *node_new(const char *name, size_t len)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, len);
	if (!n->name) {
		free(n);
		return NULL;
	}
	return n;
}

static void node_free(struct node *n)
{
	while (n) {
		struct node *next = n->next;

		node_free(n->child);
		free(n->name);
		free(n);
		n = next;
	}
}

static int insert(struct node *root, const char *stack, uint64_t count)
{
	struct node *cur = root;
	const char *p = stack;

	root->count += count;
	while (*p) {
		const char *end = strchr(p, ';');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		struct node *c, *last = NULL;

		for (c = cur->child; c; last = c, c = c->next)
			if (strlen(c->name) == len && !memcmp(c->name, p, len))
				break;
		if (!c) {
			c = node_new(p, len);
			if (!c)
				return -ENOMEM;
			if (last)
				last->next = c;
			else
				cur->child = c;
		}
		c->count += count;
		cur = c;
		p += len;
		if (*p == ';')
			p++;
	}
	return 0;
}

static unsigned depth_of(const struct node *n)
{
	unsigned d = 0;

	for (const struct node *c = n->child; c; c = c->next) {
		unsigned cd = depth_of(c) + 1;

		if (cd > d)
			d = cd;
	}
	return d;
}

/* XML text: markup escaped, anything that is not valid UTF-8 as '?' (the file must parse) */
static void xml_put(FILE *fp, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		unsigned char c = *s;
		int len = c < 0x80	       ? 1
			  : (c & 0xe0) == 0xc0 ? 2
			  : (c & 0xf0) == 0xe0 ? 3
			  : (c & 0xf8) == 0xf0 ? 4
					       : 0;
		bool ok = len > 0;

		for (int i = 1; ok && i < len; i++)
			ok = (s[i] & 0xc0) == 0x80;
		if (!ok || (c < 0x20 && c != '\t')) {
			fputc('?', fp);
			s++;
			continue;
		}
		if (len > 1) {
			fwrite(s, 1, (size_t)len, fp);
			s += len;
			continue;
		}
		switch (c) {
		case '&':
			fputs("&amp;", fp);
			break;
		case '<':
			fputs("&lt;", fp);
			break;
		case '>':
			fputs("&gt;", fp);
			break;
		case '"':
			fputs("&quot;", fp);
			break;
		case '\'':
			fputs("&apos;", fp);
			break;
		default:
			fputc(c, fp);
		}
		s++;
	}
}

void pfw_svg_put_text(FILE *fp, const char *s)
{
	xml_put(fp, s);
}

static void colour(const char *name, unsigned depth, char *buf, size_t len)
{
	uint32_t h = 2166136261u;

	if (!strcmp(name, "[unknown]")) {
		snprintf(buf, len, "rgb(180,180,180)");
		return;
	}
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	if (depth == 1) { /* the command: one step darker, so processes stand apart */
		snprintf(buf, len, "rgb(0,%u,%u)", 150 + (h % 40), 120 + (h >> 8) % 80);
		return;
	}
	/* flamegraph.pl "mem": r=0, g=190+50*v2, b=210*v1 */
	snprintf(buf, len, "rgb(0,%u,%u)", 190 + (h % 51), (h >> 8) % 211);
}

struct ctx {
	FILE *fp;
	uint64_t total;
	double scale;
	unsigned max_depth;
	int height;
};

static void emit(struct ctx *c, const struct node *n, unsigned depth, uint64_t before)
{
	double x = SVG_PAD + (double)before * c->scale;
	double w = (double)n->count * c->scale;
	double y = c->height - FOOT_H - (double)(depth + 1) * FRAME_H;
	char fill[32];
	uint64_t cum = before;

	if (w < MIN_PX)
		return;
	colour(n->name, depth, fill, sizeof(fill));
	fprintf(c->fp, "<g class=\"f\" data-d=\"%u\" data-x=\"%.3f\" data-w=\"%.3f\"><title>",
		depth, x, w);
	xml_put(c->fp, n->name);
	fprintf(c->fp, " (%" PRIu64 " faults, %.2f%%)</title>", n->count,
		100.0 * (double)n->count / (double)c->total);
	fprintf(c->fp,
		"<rect x=\"%.3f\" y=\"%.1f\" width=\"%.3f\" height=\"%d\" fill=\"%s\" rx=\"2\"/>"
		"<text x=\"%.3f\" y=\"%.1f\">",
		x, y, w, FRAME_H - 1, fill, x + 3, y + 11.5);
	/* about 7 px per character at 12 px: the script redoes this after a zoom */
	if (w > 21) {
		size_t fit = (size_t)((w - 6) / 7), len = strlen(n->name);

		if (len <= fit) {
			xml_put(c->fp, n->name);
		} else if (fit > 2) {
			char *t = strndup(n->name, fit - 2);

			if (t) {
				xml_put(c->fp, t);
				fputs("..", c->fp);
				free(t);
			}
		}
	}
	fputs("</text></g>\n", c->fp);
	for (const struct node *ch = n->child; ch; ch = ch->next) {
		emit(c, ch, depth + 1, cum);
		cum += ch->count;
	}
}

static const char script[] =
	"<script type=\"text/ecmascript\"><![CDATA[\n"
	"var W="
	"1200"
	",P=10,frames=[],details,matchedtxt,zoomed=null;\n"
	"function init(){frames=Array.prototype.slice.call(document.getElementsByClassName('f'));\n"
	" details=document.getElementById('details');matchedtxt=document.getElementById('matched');"
	"\n"
	" frames.forEach(function(g){g.onmouseover=function(){details.textContent=g.firstChild."
	"textContent;};\n"
	"  g.onmouseout=function(){details.textContent=' ';};\n"
	"  g.onclick=function(){zoom(g);};});}\n"
	"function num(g,k){return parseFloat(g.getAttribute('data-'+k));}\n"
	"function label(g,w){var t=g.getElementsByTagName('text')[0],n=g.firstChild.textContent;\n"
	" n=n.substring(0,n.lastIndexOf(' ('));var fit=Math.floor((w-6)/7);\n"
	" t.textContent=w<21?'':(n.length<=fit?n:(fit>2?n.substring(0,fit-2)+'..':''));}\n"
	"function place(g,x,w,show){var "
	"r=g.getElementsByTagName('rect')[0],t=g.getElementsByTagName('text')[0];\n"
	" g.style.display=show?'':'none';if(!show)return;r.setAttribute('x',x);r.setAttribute('"
	"width',w);\n"
	" t.setAttribute('x',x+3);label(g,w);}\n"
	"function zoom(z){var zx=num(z,'x'),zw=num(z,'w'),zd=num(z,'d'),k=(W-2*P)/zw;zoomed=z;\n"
	" frames.forEach(function(g){var x=num(g,'x'),w=num(g,'w'),d=num(g,'d');\n"
	"  if(d<zd&&x<=zx+0.0001&&x+w>=zx+zw-0.0001){place(g,P,W-2*P,true);g.style.opacity=0.6;}\n"
	"  else "
	"if(d>=zd&&x>=zx-0.0001&&x+w<=zx+zw+0.0001){place(g,P+(x-zx)*k,w*k,w*k>=0.1);g.style."
	"opacity=1;}\n"
	"  else place(g,0,0,false);});\n"
	" document.getElementById('unzoom').style.display='';}\n"
	"function "
	"unzoom(){zoomed=null;frames.forEach(function(g){place(g,num(g,'x'),num(g,'w'),true);g."
	"style.opacity=1;});\n"
	" document.getElementById('unzoom').style.display='none';}\n"
	"function search(){var s=prompt('Search frames (regular "
	"expression):','');if(s===null)return;\n"
	" var re;try{re=new RegExp(s);}catch(e){alert(e);return;}var iv=[];\n"
	" frames.forEach(function(g){var "
	"r=g.getElementsByTagName('rect')[0],n=g.firstChild.textContent;\n"
	"  n=n.substring(0,n.lastIndexOf(' ('));\n"
	"  if(!r.hasAttribute('data-fill'))r.setAttribute('data-fill',r.getAttribute('fill'));\n"
	"  "
	"if(s!==''&&re.test(n)){r.setAttribute('fill','rgb(230,0,230)');iv.push([num(g,'x'),num(g,'"
	"x')+num(g,'w')]);}\n"
	"  else r.setAttribute('fill',r.getAttribute('data-fill'));});\n"
	" iv.sort(function(a,b){return a[0]-b[0];});var tot=0,end=-1;\n"
	" iv.forEach(function(v){if(v[0]>=end){tot+=v[1]-v[0];end=v[1];}else "
	"if(v[1]>end){tot+=v[1]-end;end=v[1];}});\n"
	" matchedtxt.textContent=s===''?' ':'Matched: '+(100*tot/(W-2*P)).toFixed(2)+'%';}\n"
	"]]></script>\n";

int pfw_svg_write(const char *path, const char *title, const char *const *stacks,
		  const uint64_t *counts, size_t n)
{
	struct node root = {.name = (char *)"all"};
	struct ctx c;
	int fd, ret = 0;
	FILE *fp;

	for (size_t i = 0; i < n && !ret; i++)
		ret = insert(&root, stacks[i], counts[i]);
	if (ret) {
		node_free(root.child);
		return ret;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || !(fp = fdopen(fd, "w"))) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		node_free(root.child);
		return ret;
	}
	c.fp = fp;
	c.total = root.count ? root.count : 1;
	c.scale = (double)(SVG_W - 2 * SVG_PAD) / (double)c.total;
	c.max_depth = depth_of(&root);
	c.height = HEAD_H + FOOT_H + (int)(c.max_depth + 1) * FRAME_H;
	fprintf(fp,
		"<?xml version=\"1.0\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"onload=\"init()\" xmlns=\"http://www.w3.org/2000/svg\">\n"
		"<style type=\"text/css\">text{font-family:Verdana,sans-serif;font-size:12px;"
		"fill:rgb(0,0,0)} .f:hover rect{stroke:black;stroke-width:0.5;cursor:pointer}"
		" #title{font-size:17px;text-anchor:middle}</style>\n%s"
		"<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"rgb(240,248,240)\"/>\n"
		"<text id=\"title\" x=\"%d\" y=\"24\">",
		SVG_W, c.height, SVG_W, c.height, script, SVG_W, c.height, SVG_W / 2);
	xml_put(fp, title);
	fprintf(fp,
		"</text>\n<text id=\"unzoom\" x=\"%d\" y=\"24\" onclick=\"unzoom()\" "
		"style=\"display:none;cursor:pointer\">Reset Zoom</text>\n"
		"<text id=\"search\" x=\"%d\" y=\"24\" onclick=\"search()\" "
		"style=\"cursor:pointer\">Search</text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%d\"> </text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%d\"> </text>\n",
		SVG_PAD, SVG_W - SVG_PAD - 60, SVG_W - SVG_PAD - 160, c.height - 10, SVG_PAD,
		c.height - 10);
	if (root.count)
		emit(&c, &root, 0, 0);
	fputs("</svg>\n", fp);
	if (fflush(fp) || ferror(fp))
		ret = -(errno ? errno : EIO);
	if (fclose(fp) && !ret)
		ret = -(errno ? errno : EIO);
	node_free(root.child);
	return ret;
}
