from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_post_recipients')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Peer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('host', fields.CharField(unique=True, max_length=255)),
                ('signature_scheme', fields.CharField(null=True, max_length=16)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'peers', 'app': 'models', 'pk_attr': 'id', 'table_description': 'What this node has learned about another server (which signature form it accepts).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='ed25519_private_pem',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Actor',
            name='ed25519_key_id',
            field=fields.CharField(null=True, db_index=True, max_length=512),
        ),
        ops.AddField(
            model_name='Actor',
            name='ed25519_public_multibase',
            field=fields.TextField(null=True, unique=False),
        ),
    ]
