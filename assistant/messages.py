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
EMPTY_QUESTION = "Please type a question about the article."
QUESTION_TOO_LONG = "The question is {length:,} characters long; the limit is {limit:,}. Please shorten it."
BAD_CHARACTERS = "The question contains control or invisible formatting characters; please retype it."
BAD_HISTORY = (
    "The conversation history must be a list of {{\"role\": \"user\" or \"assistant\", \"content\": text}} "
    "messages; {problem}."
)
HISTORY_TOO_LONG = "The conversation is too long ({count} messages, limit {limit}); please start a new chat."
UNKNOWN_ARTICLE = "No article {slug!r} is ingested. Available: {available}."
NO_ARTICLES = "No article is ingested yet: run `citechat ingest PATH`."
