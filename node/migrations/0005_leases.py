from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_moves_and_relays')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Delivery',
            name='lease_owner',
            field=fields.CharField(null=True, max_length=96),
        ),
        ops.AddField(
            model_name='InboxEntry',
            name='lease_owner',
            field=fields.CharField(null=True, max_length=96),
        ),
    ]
