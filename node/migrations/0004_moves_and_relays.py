from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_peers_and_ed25519')]

    initial = False

    operations = [
        ops.CreateModel(
            name='RelaySubscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('relay_uri', fields.CharField(unique=True, max_length=512)),
                ('inbox', fields.CharField(max_length=512)),
                ('follow_uri', fields.CharField(unique=True, max_length=512)),
                ('state', fields.CharField(default='pending', max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'relay_subscriptions', 'app': 'models', 'pk_attr': 'id', 'table_description': "This node's subscription to a relay (a Follow of the Public collection)."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Actor',
            name='also_known_as',
            field=fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Actor',
            name='moved_to_uri',
            field=fields.CharField(null=True, max_length=512),
        ),
    ]
