from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0005_leases')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['author_id', 'id', 'visibility']),
        ),
        ops.AddIndex(
            model_name='PostRecipient',
            index=Index(fields=['actor_id', 'post_id']),
        ),
        ops.AddField(
            model_name='Share',
            name='post_visibility',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.RunSQL(
            'UPDATE shares SET post_visibility = '
            '(SELECT visibility FROM posts WHERE posts.id = shares.post_id)',
            reverse_sql='',
        ),
        ops.AddIndex(
            model_name='Share',
            index=Index(fields=['actor_id', 'post_visibility', 'post_id']),
        ),
    ]
