# run_until_complete stops the loop through a done-callback on the main future: the iteration in
# which that callback runs completes, so entries ready then still run.
from vloop import new_loop
import asyncio

loop = new_loop()

async def background():
    i = 0
    while True:
        print("bg", i)
        i += 1
        await asyncio.sleep(0)

async def main():
    loop.create_task(background())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    print("main returns")
    return "r"

print("result", loop.run_until_complete(main()))
print("second run")
loop.run_until_complete(asyncio.sleep(0))
