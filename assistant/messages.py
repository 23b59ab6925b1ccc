"""Every sentence citechat says in its own voice, kept in one place for the code and the tests."""

NOT_COVERED = "The article does not cover that."
NOT_MENTIONED = "The article does not mention {terms}."
NO_FIGURE = "The article gives no figures for that."
NO_DOSE = "The article gives no dose for {subject}."
INSTRUCTION_REFUSAL = (
    "I can only answer questions about the article, with citations to its text; I don't follow other "
    "instructions."
)
COVERS = "It covers: {sections}."
MORE_SECTIONS = " and {count} more sections"
EMPTY_QUESTION = "Please type a question about the article."
QUESTION_TOO_LONG = "The question is {length:,} characters long; the limit is {limit:,}. Please shorten it."
BAD_CHARACTERS = "The question contains control or invisible formatting characters; please retype it."
BAD_HISTORY = (
    "The conversation history must be a list of {{\"role\": \"user\" or \"assistant\", \"content\": text}} "
    "messages; {problem}."
)
HISTORY_TOO_LONG = "The conversation is too long ({count} messages, limit {limit}); please start a new chat."
HISTORY_TOO_BIG = ("The conversation is too long ({size:,} characters, limit {limit:,}); please start a new "
                   "chat.")
UNKNOWN_ARTICLE = "No article {slug!r} is ingested. Available: {available}."
NO_ARTICLES = "No article is ingested yet: run `citechat ingest PATH`."

# Notices on answers when a language model is configured (Reply.notice).
LLM_QUOTED = "This answer quotes the article directly"
LLM_UNAVAILABLE = "The language model {problem}. " + LLM_QUOTED + "."
LLM_PROBLEMS = {
    "unreachable": "could not be reached",
    "timeout": "did not answer in time",
    "rate_limited": "is busy (rate limited)",
    "server_error": "returned an error",
    "failed": "failed",
}
LLM_NO_CITATIONS = "The language model's answer carried no usable citations. " + LLM_QUOTED + "."
LLM_UNSUPPORTED = (
    "Too little of the language model's answer is supported by the article. " + LLM_QUOTED + "."
)
LLM_DECLINED = "The language model found no answer in the passages. " + LLM_QUOTED + "."
LLM_REMOVED = "Generated sentences the article does not support were removed from this answer ({count})."
LLM_NOT_CONFIGURED = (
    "No language model is configured: set CITECHAT_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1 for Ollama) "
    "and CITECHAT_LLM_MODEL."
)
LLM_NO_MODEL = "CITECHAT_LLM_BASE_URL is set but CITECHAT_LLM_MODEL is not: name the model the server runs."
LLM_NOT_INSTALLED = (
    "CITECHAT_LLM_BASE_URL is set but the language model extra is not installed: run `pip install -e .[llm]`."
)
NOTHING_INGESTED_READ_ONLY = ("No articles are ingested yet, and {read_only}: ingesting needs write access. Make "
                              "it writable (or set CITECHAT_HOME to a writable folder).")
