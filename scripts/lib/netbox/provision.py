# Run by scripts/netbox inside `netbox shell -c`: the admin user (password from NETBOX_ADMIN_PASSWORD, reset every
# `up`) and one v2 API token. The token's plaintext is shown only once by NetBox, so it is kept in
# UNICOP_TOKEN_FILE; a kept token that no longer validates (database reset, pepper changed) is replaced.
import os

from users.models import Token, User

username = os.environ['NETBOX_ADMIN_USER']
password = os.environ['NETBOX_ADMIN_PASSWORD']
token_file = os.environ['UNICOP_TOKEN_FILE']
description = 'unicop scripts/netbox'

user = User.objects.filter(username=username).first()
if user is None:
    user = User.objects.create_superuser(username=username, email='', password=password)
    print(f'admin user {username}: created')
elif not user.check_password(password) or not user.is_superuser or not user.is_active:
    user.set_password(password)
    user.is_superuser = True
    user.is_active = True
    user.save()
    print(f'admin user {username}: updated')

kept = ''
if os.path.exists(token_file):
    with open(token_file) as f:
        kept = f.read().strip()
valid = False
if kept.startswith('nbt_') and '.' in kept:
    key, plaintext = kept[4:].split('.', 1)
    t = Token.objects.filter(user=user, key=key, version=2).first()
    valid = bool(t and t.enabled and not t.is_expired and t.write_enabled and t.validate(plaintext))
if not valid:
    Token.objects.filter(user=user, description=description).delete()
    t = Token(user=user, version=2, description=description, write_enabled=True)
    t.full_clean()
    t.save()
    value = f'nbt_{t.key}.{t.token}'
    fd = os.open(token_file + '.tmp', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(value + '\n')
    os.replace(token_file + '.tmp', token_file)
    print(f'API token (v2) for {username}: created')
