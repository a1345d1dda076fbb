import os

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from accounts.models import ApiKey, Workspace
from accounts.services import api_key_create, api_key_revoke, workspace_create

DEMO_SLUG = "demo"
DEMO_KEY_NAME = "Demo key (make run)"


class Command(BaseCommand):
    help = "Create the demo workspace if missing, issue it a fresh API key and print a curl example."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--base-url", default=os.environ.get("FILELOOM_BASE_URL", "http://127.0.0.1:8000"))

    @transaction.atomic
    def handle(self, *args: object, **options: object) -> None:
        workspace = Workspace.objects.filter(slug=DEMO_SLUG).first() or workspace_create(
            name="Demo workspace", slug=DEMO_SLUG
        )
        # The previous demo key cannot be shown again (only its hash is kept): replace it.
        for old in ApiKey.objects.filter(workspace=workspace, name=DEMO_KEY_NAME, revoked_at__isnull=True):
            api_key_revoke(api_key=old)
        issued = api_key_create(workspace=workspace, name=DEMO_KEY_NAME)
        base = str(options["base_url"]).rstrip("/")
        self.stdout.write("")
        self.stdout.write(f"Demo workspace: {workspace.name} ({workspace.id})")
        self.stdout.write(f"API key (shown once): {issued.raw_key}")
        self.stdout.write("")
        self.stdout.write("Try it:")
        self.stdout.write(
            f"  curl -s -X POST {base}/v1/pdf/generate \\\n"
            f"    -H 'X-API-Key: {issued.raw_key}' -H 'Content-Type: application/json' \\\n"
            '    -d \'{"htmlContent": "<h1>Hello {{name}}</h1>", "templateData": {"name": "World"}}\''
        )
        self.stdout.write("")
