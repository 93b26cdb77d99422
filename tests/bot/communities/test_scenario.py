from tests.support.chat import Chat


def test_create_join_and_whoknows(chat: Chat) -> None:
    assert "created" in chat.ok('community create data-science "Data Science" --topics python,ml', user="alice")
    chat.ok("profile skills python, pandas", user="alice")
    chat.ok("community join data-science", user="bob")
    chat.ok('profile skills "machine learning", python', user="bob")
    text = chat.ok("whoknows python", user="carol")
    assert "alice" in text and "bob" in text
    assert "Members: 2" in chat.ok("community info data-science", user="carol")
