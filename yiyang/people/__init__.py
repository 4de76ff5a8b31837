"""The elder registry (老年人基础数据库): people, households, contacts, hardship categories."""
