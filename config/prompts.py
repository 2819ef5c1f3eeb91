"""Default prompts of every AI operation, their placeholders, and how a prompt is rendered.

A prompt names its inputs as `{name}` placeholders. Every placeholder listed for a type is
required (CONTRACT §16.21) and no other may appear; literal braces that don't enclose a bare
name (e.g. the JSON shapes below) are ordinary text. Each text carries a `task: <type>` line and
its inputs as `name: value` lines, so the answer's shape is clear to a model and to the fake
OpenAI server of the tests alike.

An account may replace a text (`/api/v1/system/prompts/{type}/`); `services.ai_settings.prompt_text`
returns the text in effect.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PROMPT_TYPES = ("clustering", "ideas", "content", "image_prompts", "optimize")

# The placeholders of each type, in the order they are documented; all are required.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "clustering": ("keywords", "site_name"),
    "ideas": ("cluster_name", "keywords", "count"),
    "content": ("title", "keyword", "word_count", "brief"),
    "image_prompts": ("title", "count", "summary"),
    "optimize": ("title", "keyword", "word_count", "html", "issues"),
}

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

CLUSTERING = """\
You are an experienced SEO strategist. Group the search keywords of the website "{site_name}" \
into topic clusters.

task: clustering

Keywords:
{keywords}

Rules:
- A cluster is a set of keywords with the same search intent that one pillar article and its \
supporting articles can target together.
- Put every keyword in exactly one cluster and copy each keyword exactly as it is written above.
- Name each cluster in 2 to 6 words that a reader would recognise as a topic, and describe it in \
one sentence.
- Prefer a few coherent clusters over many tiny ones; a keyword that fits nowhere else may form a \
cluster of its own.

Answer with strict JSON only (no Markdown fences, no text before or after it), in exactly this \
shape:
{"clusters": [{"name": "Cluster name", "description": "One sentence about the topic.", \
"keywords": ["keyword one", "keyword two"]}]}
"""

IDEAS = """\
You are an SEO content strategist planning articles for one topic cluster.

task: ideas
cluster: {cluster_name}
count: {count}

Keywords:
{keywords}

Propose exactly {count} distinct article ideas for this cluster. Each idea targets a different \
angle or search intent, so that the articles don't compete with each other in search results.

For each idea give:
- "title": a specific, compelling headline (at most 70 characters) that contains its main keyword.
- "description": the outline, a list of sections, each {"heading": "...", "notes": "..."}, where \
the notes say in one or two sentences what the section covers.
- "content_type": one of post, page, product, service, taxonomy.
- "content_structure": one of article, guide, listicle, how_to, comparison, review, landing_page.
- "target_keywords": 1 to 5 keywords from the list above, the most important first.
- "estimated_word_count": a whole number between 500 and 4000.

Answer with strict JSON only (no Markdown fences, no text before or after it), in exactly this \
shape:
{"ideas": [{"title": "...", "description": [{"heading": "...", "notes": "..."}], \
"content_type": "post", "content_structure": "guide", "target_keywords": ["..."], \
"estimated_word_count": 1200}]}
"""

CONTENT = """\
You are an expert writer of helpful, well-researched web articles that rank in search engines.

task: content
title: {title}
keyword: {keyword}
word_count: {word_count}

Brief:
{brief}

Write the complete article described by the title and the brief above.
- Length: about {word_count} words of body text.
- Use the main search phrase ({keyword}) naturally in the first paragraph, in at least one \
subheading and a few times in the body; never stuff it.
- Structure the body as HTML: <h2> sections (with <h3> where useful), <p> paragraphs, and <ul>, \
<ol> or <table> where they help the reader. No <h1>, <html>, <head>, <body>, scripts, styles, \
inline event handlers or images.
- Write for people first: concrete advice, examples and plain language; end with a short \
conclusion.
- "meta_title": at most 60 characters, containing the main search phrase.
- "meta_description": at most 160 characters that make a searcher want to click.
- "secondary_keywords": 3 to 8 related phrases the article also covers.

Answer with strict JSON only (no Markdown fences, no text before or after it), in exactly this \
shape:
{"title": "...", "html": "<h2>...</h2><p>...</p>", "meta_title": "...", \
"meta_description": "...", "primary_keyword": "...", "secondary_keywords": ["...", "..."]}
"""

IMAGE_PROMPTS = """\
You are an art director who writes prompts for an image generation model.

task: image_prompts
title: {title}
count: {count}

Article summary:
{summary}

Write exactly {count} image prompts for this article. The first one is the featured image (kind \
"featured"): it represents the whole article. Every other one is an in-article image (kind \
"in_article") that illustrates one specific section or idea of the article.
- Describe the subject, the setting, the composition and the style in one or two sentences.
- Keep one consistent visual style across all images.
- No text, letters, logos, watermarks or recognisable real people in the images.
- "alt_text": a concise description of the image for screen readers, at most 125 characters.

Answer with strict JSON only (no Markdown fences, no text before or after it), in exactly this \
shape:
{"prompts": [{"kind": "featured", "prompt": "...", "alt_text": "..."}, \
{"kind": "in_article", "prompt": "...", "alt_text": "..."}]}
"""

OPTIMIZE = """\
You are an SEO editor improving an existing article without changing what it is about.

task: optimize
title: {title}
keyword: {keyword}
word_count: {word_count}

Issues found by the analyzer:
{issues}

Rewrite the article below so that every issue listed above is fixed.
- Keep its facts, its voice and its overall structure; improve clarity, headings and keyword \
placement.
- Aim for about {word_count} words of body text.
- Use the main search phrase ({keyword}) in the first paragraph, in at least one subheading and \
naturally in the body; never stuff it.
- Return the body as HTML with <h2>/<h3> sections and <p> paragraphs; no <h1>, scripts, styles or \
inline event handlers. Keep existing links and images where they still fit.
- "meta_title": at most 60 characters; "meta_description": at most 160 characters.

Current article (HTML):
{html}

Answer with strict JSON only (no Markdown fences, no text before or after it), in exactly this \
shape:
{"title": "...", "html": "<h2>...</h2><p>...</p>", "meta_title": "...", \
"meta_description": "...", "primary_keyword": "...", "secondary_keywords": ["...", "..."]}
"""

DEFAULT_PROMPTS: dict[str, str] = {
    "clustering": CLUSTERING,
    "ideas": IDEAS,
    "content": CONTENT,
    "image_prompts": IMAGE_PROMPTS,
    "optimize": OPTIMIZE,
}


def placeholders_in(text: str) -> list[str]:
    """The distinct `{name}` placeholders of `text`, in order of first appearance."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(text)))


def placeholder_problems(prompt_type: str, text: str) -> list[str]:
    """What is wrong with `text` as a prompt of `prompt_type`: missing or unknown placeholders."""
    allowed = PLACEHOLDERS[prompt_type]
    found = placeholders_in(text)
    problems = []
    missing = [name for name in allowed if name not in found]
    if missing:
        problems.append("Missing required placeholders: " + ", ".join(f"{{{name}}}" for name in missing) + ".")
    unknown = [name for name in found if name not in allowed]
    if unknown:
        problems.append(
            "Unknown placeholders: "
            + ", ".join(f"{{{name}}}" for name in unknown)
            + f"; a {prompt_type} prompt takes "
            + ", ".join(f"{{{name}}}" for name in allowed)
            + "."
        )
    return problems


def render_prompt(text: str, values: Mapping[str, object]) -> str:
    """Fill in the `{name}` placeholders found in `values`; every other brace stays as written.

    Unlike `str.format`, the JSON shapes in a prompt need no escaping.
    """
    return PLACEHOLDER_RE.sub(lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)
