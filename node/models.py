"""The node's database tables (tortoise-orm). Behaviour lives in services, not here."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

__all__ = [
    "Account",
    "Actor",
    "Delivery",
    "Follow",
    "InboxEntry",
    "Like",
    "Notification",
    "Peer",
    "Post",
    "PostEdit",
    "PostRecipient",
    "RelaySubscription",
    "Share",
    "Tombstone",
]


class Actor(Model):
    """Every actor this node knows, its own (local=True) and cached remote ones."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(512, unique=True)
    type = fields.CharField(32, default="Person")
    username = fields.CharField(255, db_index=True)
    domain = fields.CharField(255, db_index=True)
    name = fields.CharField(255, default="")
    summary = fields.TextField(default="")
    inbox = fields.CharField(512)
    shared_inbox = fields.CharField(512, null=True)
    outbox = fields.CharField(512, null=True)
    followers_uri = fields.CharField(512, null=True)
    key_id = fields.CharField(512, null=True, db_index=True)
    public_key_pem = fields.TextField(null=True)
    ed25519_key_id = fields.CharField(512, null=True, db_index=True)  # FEP-521a Multikey id
    ed25519_public_multibase = fields.TextField(null=True)
    manually_approves = fields.BooleanField(default=False)
    # other ids of the same person (Move)
    also_known_as: fields.JSONField[list[str]] = fields.JSONField(default=list)
    moved_to_uri = fields.CharField(512, null=True)  # set once the person has moved (Move)
    local = fields.BooleanField(default=False)
    fetched_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "actors"


class Account(Model):
    """A local login with the private key and API token of a local actor."""

    id = fields.BigIntField(primary_key=True)
    actor: fields.OneToOneRelation[Actor] = fields.OneToOneField(
        "models.Actor", related_name="account", on_delete=fields.CASCADE
    )
    username = fields.CharField(64, unique=True)
    private_key_pem = fields.TextField()
    ed25519_private_pem = fields.TextField(null=True)
    token_hash = fields.CharField(64, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "accounts"


class Peer(Model):
    """What this node has learned about another server (which signature form it accepts)."""

    id = fields.BigIntField(primary_key=True)
    host = fields.CharField(255, unique=True)  # netloc: host or host:port
    signature_scheme = fields.CharField(16, null=True)  # "rfc9421" or "cavage"; null: unknown
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "peers"


class RelaySubscription(Model):
    """This node's subscription to a relay (a Follow of the Public collection)."""

    id = fields.BigIntField(primary_key=True)
    relay_uri = fields.CharField(512, unique=True)  # the relay's actor id
    inbox = fields.CharField(512)
    follow_uri = fields.CharField(512, unique=True)  # id of our Follow activity
    state = fields.CharField(16, default="pending")  # pending, accepted, rejected
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "relay_subscriptions"


class Post(Model):
    """A post, local or a copy of a remote one, with sanitised HTML content."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(512, unique=True)
    author: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="posts", on_delete=fields.CASCADE
    )
    author_id: int
    type = fields.CharField(32, default="Note")
    content = fields.TextField(default="")
    source = fields.TextField(null=True)
    summary = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    visibility = fields.CharField(16, db_index=True)
    in_reply_to_uri = fields.CharField(512, null=True, db_index=True)
    in_reply_to: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="replies", null=True, on_delete=fields.SET_NULL
    )
    in_reply_to_id: int | None
    url = fields.CharField(512, null=True)
    published = fields.DatetimeField(db_index=True)
    updated = fields.DatetimeField(null=True)
    local = fields.BooleanField(default=False)
    likes_count = fields.IntField(default=0)
    shares_count = fields.IntField(default=0)
    replies_count = fields.IntField(default=0)
    counts_at = fields.DatetimeField(null=True)  # time of the owner's last count update
    created_at = fields.DatetimeField(auto_now_add=True)

    edits: fields.ReverseRelation[PostEdit]
    recipients: fields.ReverseRelation[PostRecipient]
    like_rows: fields.ReverseRelation[Like]
    share_rows: fields.ReverseRelation[Share]

    class Meta:
        table = "posts"
        # (author_id, id, visibility): a person's posts newest first with what home filters on,
        # read from the index alone (home and profile timelines)
        indexes = (("author_id", "published"), ("author_id", "id", "visibility"))


class PostRecipient(Model):
    """A person a post is addressed to by name (mentions and direct posts)."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="recipients", on_delete=fields.CASCADE
    )
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="addressed", on_delete=fields.CASCADE
    )
    post_id: int
    actor_id: int

    class Meta:
        table = "post_recipients"
        unique_together = (("post", "actor"),)
        indexes = (("actor_id", "post_id"),)  # the posts naming a person, newest first


class PostEdit(Model):
    """An earlier version of an edited post (edit history)."""

    id = fields.BigIntField(primary_key=True)
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="edits", on_delete=fields.CASCADE
    )
    content = fields.TextField()
    summary = fields.TextField(default="")
    edited_at = fields.DatetimeField()

    class Meta:
        table = "post_edits"


class Tombstone(Model):
    """A deleted object, which keeps a late Create, Announce or fetch from bringing it back."""

    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(512, unique=True)
    former_type = fields.CharField(32, default="Note")
    deleted_at = fields.DatetimeField()

    class Meta:
        table = "tombstones"


class Follow(Model):
    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(512, null=True, db_index=True)
    follower: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="following_rel", on_delete=fields.CASCADE
    )
    followee: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="followers_rel", on_delete=fields.CASCADE
    )
    follower_id: int
    followee_id: int
    accepted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "follows"
        unique_together = (("follower", "followee"),)


class Like(Model):
    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(512, null=True, db_index=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="likes", on_delete=fields.CASCADE
    )
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="like_rows", on_delete=fields.CASCADE
    )
    post_id: int
    actor_id: int
    content = fields.CharField(255, default="")  # an emoji reaction, or empty for a plain like
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "likes"
        unique_together = (("actor", "post"),)


class Share(Model):
    id = fields.BigIntField(primary_key=True)
    uri = fields.CharField(512, null=True, db_index=True)
    actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="shares", on_delete=fields.CASCADE
    )
    post: fields.ForeignKeyRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="share_rows", on_delete=fields.CASCADE
    )
    post_id: int
    actor_id: int
    # The shared post's visibility, copied (a post's visibility never changes once stored), so
    # that home reads the shares of the people you follow from one index (timelines.home_sql).
    # A share without it never shows in home.
    post_visibility = fields.CharField(16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "shares"
        unique_together = (("actor", "post"),)
        indexes = (("actor_id", "post_visibility", "post_id"),)


class Notification(Model):
    id = fields.BigIntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharField(32)  # follow, follow_request, favourite, reblog, mention, reply
    from_actor: fields.ForeignKeyRelation[Actor] = fields.ForeignKeyField(
        "models.Actor", related_name="+", on_delete=fields.CASCADE
    )
    post: fields.ForeignKeyNullableRelation[Post] = fields.ForeignKeyField(
        "models.Post", related_name="+", null=True, on_delete=fields.CASCADE
    )
    post_id: int | None
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notifications"


class InboxEntry(Model):
    """The inbox log of every accepted activity, committed before the 202, deduped by id."""

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(512, unique=True)
    signer = fields.CharField(512)
    payload = fields.BinaryField()
    state = fields.CharField(16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(96, null=True)  # the worker process holding the lease
    last_error = fields.TextField(null=True)
    received_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "inbox_entries"


class Delivery(Model):
    """The delivery queue, one row per (activity, target inbox)."""

    id = fields.BigIntField(primary_key=True)
    activity_id = fields.CharField(512, db_index=True)
    inbox = fields.CharField(512)
    payload = fields.BinaryField()
    signer = fields.CharField(512)
    state = fields.CharField(16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField(db_index=True)
    locked_until = fields.DatetimeField(null=True)
    lease_owner = fields.CharField(96, null=True)  # the worker process holding the lease
    last_status = fields.IntField(null=True)
    last_error = fields.TextField(null=True)
    created_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "deliveries"
