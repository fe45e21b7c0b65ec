"""What is kept on disk: prompt history and saved chats.

May import `config`, `render` and `chat` (the conversation it saves).
"""
