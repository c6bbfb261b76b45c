from gptapi.cli.main import app

app()
