from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PostRecipient',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('post', fields.ForeignKeyField('models.Post', source_field='post_id', db_constraint=True, to_field='id', related_name='recipients', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.Actor', source_field='actor_id', db_constraint=True, to_field='id', related_name='addressed', on_delete=OnDelete.CASCADE)),
            ],
            options={'table': 'post_recipients', 'app': 'models', 'unique_together': (('post', 'actor'),), 'pk_attr': 'id', 'table_description': 'A person a post is addressed to by name (mentions and direct posts).'},
            bases=['Model'],
        ),
    ]
