from django.core.management.base import BaseCommand

from accounts.services import demo_key_ensure, demo_key_file


class Command(BaseCommand):
    help = (
        "Create the demo workspace if missing and print its API key: the same key on every run "
        "(kept encrypted in the var directory); `manage.py serve` prints it again with a curl example."
    )

    def handle(self, *args: object, **options: object) -> None:
        demo = demo_key_ensure()
        if int(str(options["verbosity"])) < 1:
            return
        self.stdout.write(f"Demo workspace: {demo.workspace.name} ({demo.workspace.id})")
        kept = "new key" if demo.issued else "the key of earlier runs"
        self.stdout.write(f"API key: {demo.raw_key}  ({kept}, kept in {demo_key_file()})")
