from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_leases')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Post',
            index=Index(fields=['author_id', 'id']),
        ),
        ops.AddIndex(
            model_name='PostRecipient',
            index=Index(fields=['actor_id', 'post_id']),
        ),
    ]
