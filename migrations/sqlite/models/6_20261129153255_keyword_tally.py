from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "keyword_tally" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "stripe" SMALLINT NOT NULL,
    "n" INT NOT NULL,
    "site_id" INT NOT NULL REFERENCES "site" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_keyword_tal_site_id_fe099d" UNIQUE ("site_id", "stripe")
) /* How many keywords a site has: the sum of its rows here. */;
-- The tally is kept by triggers, so every path that adds or removes keywords keeps it right.
-- One row per site here (SQLite has one writer at a time). A deleted site takes its row with
-- it (ON DELETE CASCADE); the UPDATEs of its cascaded keywords then find nothing.
CREATE TRIGGER "keyword_tally_insert" AFTER INSERT ON "keyword" BEGIN
    INSERT INTO "keyword_tally" ("site_id", "stripe", "n") VALUES (NEW."site_id", 0, 1)
    ON CONFLICT ("site_id", "stripe") DO UPDATE SET "n" = "n" + 1;
END;
CREATE TRIGGER "keyword_tally_delete" AFTER DELETE ON "keyword" BEGIN
    UPDATE "keyword_tally" SET "n" = "n" - 1 WHERE "site_id" = OLD."site_id" AND "stripe" = 0;
END;
CREATE TRIGGER "keyword_tally_move" AFTER UPDATE OF "site_id" ON "keyword"
    WHEN OLD."site_id" IS NOT NEW."site_id" BEGIN
    UPDATE "keyword_tally" SET "n" = "n" - 1 WHERE "site_id" = OLD."site_id" AND "stripe" = 0;
    INSERT INTO "keyword_tally" ("site_id", "stripe", "n") VALUES (NEW."site_id", 0, 1)
    ON CONFLICT ("site_id", "stripe") DO UPDATE SET "n" = "n" + 1;
END;
INSERT INTO "keyword_tally" ("site_id", "stripe", "n") SELECT "site_id", 0, count(*) FROM "keyword" GROUP BY "site_id";"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
DROP TRIGGER IF EXISTS "keyword_tally_insert";
DROP TRIGGER IF EXISTS "keyword_tally_delete";
DROP TRIGGER IF EXISTS "keyword_tally_move";
        DROP TABLE IF EXISTS "keyword_tally";"""


MODELS_STATE = (
    "eJztXftz27aW/lcwmtlpMqNmbMmy3XZnZ+w07XXrxFnbbe/epEPDJCSxpgiWDzuae/O/L8"
    "CH+KYImaRA+vzS1AQOSX0AgXO+88C/RyuqEcN5c6aq1DPd0ffo3yMTrwj7n2zTGI2wZcUN"
    "/IKL7w2/L050undcG6v8XnNsOIRd0oij2rrl6tRkV03PMPhFqrKOurmIL3mm/rdHFJcuiL"
    "skNmv49Ce7rJsa+UKc6E/rQZnrxNBSL6tr/Nn+dcVdW/61C9P9ye/In3avqNTwVmbc2Vq7"
    "S2pueuvB6y+ISWzsEn571/b46/O3C39o9IuCN427BK+YkNHIHHuGm/i590p8baQoH65ulZ"
    "t3t4oyEgBIpSYHl72q4//6BX+FbyeHRydHp9Pjo1PWxX/NzZWTr8GjY2ACQR+eD7ejr347"
    "dnHQw8c4BlW1CUdCwW4e3B9Zi6uvSDHCackM0loo+ib6nyzuEcpVwEcX9oQ8+33alWmsw+"
    "dWwHx78f7dze3Z+4/8cSvH+dvw4Tu7fcdbJv7Vdebqq+PX/Dpl31HwfW1ugv64uP0H4n+i"
    "f119eOejSx13YftPjPvd/mvE3wl7LlVM+qRgLQFRdDWCkfWMB92ztB0HPS3ZzaDHSwyMet"
    "moRxglhj18+3jU/X9z4/12ie3isY76Z0aZodXHcV3hL4pBzIW75IvnwUHFwP5+dv32H2fX"
    "r1ivzGh9CJsmQdvXFL6WgU0RfKP+3eE7mtuEjDpBeDqpAfB0Uoovb0rDy/YbTXedPMLn+q"
    "JUDUgIbdcFmoL5oF1d4LvJZDo9mRxMj09nRycns9ODjVKQb6rSDs4vfuYKQmoEIo0hMa2J"
    "rVNNcVxsC28XWdkGNoxwf5NlXenv/hCoBVzbnj8kVEN+4R6rD0/Y1pRcC53Qsr75ptVklb"
    "2CTbzwB4mjyd8zskAs/VeyHhXZJkHLuNI0sXTlIey0zTQZnSFHd8m3jkotoiEmhubURswY"
    "QX9QW/vI8HSQZXgL3fwBOUv6ZCJqquw+D8RyEXYQRkvsLN+MMtOjyfuCkQRGEhhJYCRJq0"
    "z3c9TrGEmWTeb6FyE1fiMxQEPp8LiGGn+YHa9YjedNaXWSbYwK3+hEIE7KNAPyfrerFMTH"
    "RzUgPj4qhZg3pSG2ySN92GnlSkuCti7PQpXfnwzsuIrn7DTOWVkYaZlHOvS8KEK6fVqoO/"
    "JDejU/YSuZLlmw389eQwzbvOBO+Er2yTQNLzeHxXBNSMCEDRHNETS5dSEP8E/UJvrC/JWs"
    "fZwv2EthUy0i8/MO4J5B/DWaQ9HV+Luy8dOGIMkshwwB9ruJG+idZzdvz358N8pN3gaAvQ"
    "lvM1BUEx/sdkgTq2YDyF6k79avpbYuvvmNphjm/ZC2PxJTJ9otsxjMUQFzm2weV9G3mt9R"
    "cTc9t3O4JmIfNGdUfSF095er3yFmiHOdFrHvXDeQ7qIn6hkaWuJHgsgXS7dZGzbXT3iNXh"
    "l0QT33dQGN2+itgckFJheYXGByZd3oezrqdZhctm6LcIxhd6AXt9KLwX7n7PA5pSWHt4b2"
    "9+uRKhjgI3acJ2pr18Qhbql6WdCrUsu0wv6KzQUEtE0IZgbtru8rU0/3edDuXuKo19Hu/O"
    "Vb2JGclgJdb2C6HngYBZS91Bq6mxsZPMj9GV9bzBWXkABX3HZXHIerAafGb+FtegZuXXdG"
    "YlLJ5Me4JnP2rS1LLc1U+7jKxrSDniKujCuToFAs9DjQOcLIpq7v9mFiK91Y/4AoU+OQ7j"
    "p+lDjSHT9uPO++eP7twKgFoxaMWjBqZd1sejrqdYzaYHEWMWhjibaCz4dkzQJpAKSBFJpy"
    "DxcrIA1e2vhCGslLGGWghoAaAmqojBry47cLKKEorrucCooCyCG8oFcf8hiYmJdjkwMT8x"
    "JHvQ4TA7XS2q2VptEVe5wIwrHEEDGeTetgPJuWY8zbMumtjsL0Dv2xYCKfU2oQbJaoA0m5"
    "DNj3TLAttKMNq1uD7fzq6jK1KJ1fZEqiffjt/fm761eHPvasU6ASFiW8Gt5CZEpH/QdHKZ"
    "7WWTFOyxeM09x6ASnwbaXAax67/1o0/z0lBcnvkKq9x1TtaDY2AO5F4lb9mr/1M4pTn24K"
    "XfYO6MNvl5f7JFtuiOpSe1RCuYSt423Ei+LEHRvlXz4lU979F/wTKBmgZICSAUpGim2gp6"
    "MOlMz+KRkwsVo2sQKdZEdLKyUMBhdUG2sHUTBhodqYtKgKVhtLrZwNkgOxEdqvFVeYIkjt"
    "OVIxBX4wTAFHEAXJlLMDUTROq2EZnzILgE2NkCgAZgCYAWAGgBkAZqBBZoCssG6IUAMbgc"
    "F5XiezOtkcrFdFIEEun2NTOUk0cyYnOEQuZjarhfisAvFZFvG5bjuuIsp4paU6PFZw1AnS"
    "h7VYr8MK1uswz3r5JyGIAp0SApzr4OyrwAIQR/07RJc+mYFt0AHEjR+rA8FeHQd7+WuAQR"
    "dFUYw1Dl/ZSEJ2lDyaZd6gAKcIcMuS0XN1uOX9sHJ/kPsb4jjB785xc4nWcRVD90TuFSfR"
    "scaBrvc2fXKIjUIxdE+WbBD9s1fvwmt3SKX0QSdF57aKikNeFlB9QPUB1SfrTtLTUa9D9U"
    "EFF6jgIoWa1sOPKb+GQoWPlzDKUOEDKnxIYLdKWuFjk/JTYLIm04HKDdZk/hFU++jVRz2u"
    "sCr3G28ukXp5OKnlD5pU+IMmOX8Q5Eo3jW5ugypfTxPD4If4OQVOo1Dwp1+vibE5ZbWhwM"
    "i+bGFfu9h4yjMe87hu34RazHzMpI76XyRkP77cLWrfSv3QN6nh47u/6hPSgd2uhbqfEgmy"
    "gdxEjYR916MkRGNjxYMqizSGZHOluuCwjspDomfTVRKSqSPRc7LKQk6leOTfOGRKdKxFJK"
    "ZB3Y0uITLAva6VkN5wbtefvrFAdzvcgdRTOFE+UJ/PdZW9YsGOdrPChlGKalpyMMhOJyfH"
    "G1D5H1V43rw/u7wsSlR3SVEMVvkyEEsMcBVoPka3X3EqELKw3f9WJ1AFjJzWSj7sUFDj+X"
    "U0hogqmI5dmo75OdwguIMj4bMQl1cl2LNt/tZgA1BclyBqGlfZ5GqiU7tFC7nlX2CNpyPL"
    "EzoHGOQQzwzxzBDPDMYBFDXsV1HDzW4niHEkAzjXPM8j8WY5qG/JlzI2Li02gFT6qrXp3T"
    "9vU8tShOir92f/fJ1ami6vPvwcdU+MwNvLq/OsDexi1yuI36lwUm8kOoTbJE9tIZ6d3bUm"
    "d8Xczk7t0NfhKCUpqqXqbl5wMHRzYxROmVfkXF+8JMfId5PJdHoyOZgen86OTk5mpwcbYP"
    "NNVQifX/zMQU5N7jzqkNU+JEJSstQZKOwrI6JQfAEK+0qLqlBh38YY8/SBMv1aZJ9Plu+7"
    "hO9b6gcPXGgEj4oY80TzuJI1Dzqynxj2bLewb2KqhoYU6wLUOVDnQJ0DdS7fDtzTUa9Dnb"
    "u6K1ZSciMwQFJ3WovUnVaQulNBUveXm6sPu5C6mq666D/I0J3W7ITRf889U3X9Ul6ebri6"
    "6bzhz/ufPZC+HKZq0jfL72a+FH6DLOkb6Tw+pgJfQFauQwKY/6RuGOAW4jZD2NgzPdX17J"
    "0wTwl3CDy2XV0N1r0+Yu9im2njUapKgaOjfB0qEIW1qPG1iDhMNfKVKL/Su6iTpEy8O+Lu"
    "8OCgL94ScPa1vdyAZ6SdmRvGNorhmhYC3wg4nMDh1BtEweEEDidpUQWH0z4dTgWKQQPoJn"
    "IshgltWh2SyplXUZKiVjmKNitRxJ96+JRa2S8JsagqBffzCbv/eGt64CI5cAyCYxAcg+AY"
    "BMdgw45BqGfTRT2b5GYqjvSQ82ugepCUugFUDypF9uVUD2KNc2qv/ILG2OirlwL8QOAH6p"
    "NZBn4g8AP1EdS4RqootDlJABgcbe0gCo42cLRJiyo42sDR1jtoaznayjSFJqZvuor7MEEu"
    "0JFkdGneYsMoPBsu1T6u4dxU3E3XrUea/4M+IfZmaxQFLyOM+FKKltj53j+Y3PFWiM6R7j"
    "qIn16OlsQuONt8x/t8Nj+z6Wq56H6NuEftHjuEDaK+WBDbQdREd+H97tCrlb6wfToFHb8e"
    "I5M8EpuLMTgMXQ0aVIbJGDkU8cb1Z9PC7pI9HLsIa+yVqI1ssqKPxIlf89W9ZzwgzlqQFW"
    "EzC2FTQyp2VMyQQrrJPlGNaK+ZALHY3y5iL7d0x59NHB7cbhnY/Ca+4bcWsb/1f7m6JOoD"
    "4t4PDsacPAW/W2fTlV3jWPh6AAMwwIfJfON8NqMbvUFXJvoYOCxu/vcygSfyLORSdHd7dn"
    "n5f8rN7fXFx3c3d/7dx4hgdclubJokiAVnP9x/Av1scujpk4le3VkLhc9dYmqKpWuvXqP/"
    "Qqd3r7/ncqpn2wwH9GSzpzn8OdQMXo6/pYlsbBNjjZ4wg2LOAOXP+2xS7gZnKKh0tWIN7L"
    "n+T2ITmb/WG3SG+FSxCJsja7SgbPQWbMQeyQ+sK7tbND9WBJt8BNhixV7an2XbXO3BfeF4"
    "qL36vMNByAFbzXHHUkMysZqguAuy4EpRLEp966+DAEx+qRCtMPnBLG3ELN1rTYwidTNqqt"
    "Q01USn9sLoCg9+3DE0LiFEvjCby8QG/xOC4yA4DoLjIDgOguOgakbfqmbAobExvrWq8U4r"
    "yvFO8/V4l+7KyONbXmM66g/FpYWLS68IUxiEV4y01ABg72DR8DGrrLezBe/hVVJPoz6rhf"
    "qsAvVZHnXL1lfYXpe7bspBLxAdHOatRDI7hD1TS0AnVNOlWBrKulQv/TuUddmpmMu+Srj0"
    "hv3sR9yuZuN5b4t1OdSzVSF9JZboEOMVNr3+BqAnuToBpDNiO8EtWbhDGunjoxpIHx+VIs"
    "2bSpD27AKrpwbUodzwsJ4c1D3IqPIko5xS6OIv1KQrfoSnYLm5tBwoJY0rJXOCeQVFTWG6"
    "90LQj1goC1HZRWHvVHFUWlTlckvgQFJwQMg2ETrwSGyn0KwvT+CMJTqshdiTOQrpWZCe1S"
    "NYIT0LQol6gKiLnQcxRBMSMEUhHQvSsSRHFdKxZEnH4itnA9DehrcZJqiJ7QUy3JoEVuJS"
    "kmGg6++h+VseCvt7bCBvPx0uYU1vz746Q5ZNHnXqOUEGEk8Kwii81Rg98MyopyUJcp10F+"
    "kOsollYJVo+RSs596sMBo3PvSOd4l+HGTbQBAtBNFCEK0ce1FPR71OEG1P2FzpF1MIS+4u"
    "wlD+sNn29WIInC0EHgJnIXBWLHAWogPbcL6ljLq6zreUEOgW21n4RJLsc2mi+E49g7g2T5"
    "SaXTKlSl/wKJ5RATsUNIyrSCF906XRJOlcRnTm26SO7t82m/gMB4IAXQN0DdA1QNe0dSAI"
    "g1TELoj6d1qWXun5Qd2b7a3+VpUUAXMgaw5YNl1ZBetUOWUTSwzAiu2assGGq7gMWpGFIi"
    "kzAMg7IA4Es1ggeUUweWWuG0Th9TVFUE4JDQ/rdhgwXSsCuZz8ivpDnGR+q1sSXr1VAM1Y"
    "AODsbZqxRUxeBLevCi+x7aLoyHL1bCMwhCW2c/UMMn7A6dAjXCE7BZIppHHjQDJFG6gKJV"
    "OA13EIXkc/3aLA6RilYZT7HKN8j5ZdjsJFmMHpCE5HcDqC0xGcjlBouWehn/e2TuYiBMxG"
    "YAC+mq75l12KdUKJzlarYUVqso+pwEKTleuS8qVObwtLRrCxZ3oqLyW2C+Yp4Q6B73lwSa"
    "/izQ8PDvoSY9ITTxHr6hGtr5N3XxS7ZB6jpucu+N/A/9b/WQwV91qBVdcIFsM0IQGAQglD"
    "cBL3BlFwEoOTWFpUoeKeLBX3oDxcs+XhsupWE8AGRu9FeLdhgptQNKUqvHcbnl8xKoxvCN"
    "vG1TEOiV7tnT8dpecVnkMN8QwQzwDxDBDPAPEMLy6JurNohuZdBP6/AuBG/QcI7qRuYmRV"
    "XiScyd0tvnAeYDHYzZ8HKOoEh3prpewruLRaKlyBbWF3d0oGXAXgKmgHUXAVgKtAWlSFXA"
    "XBgtkAqElqr19LbF1cU3uLVJTrW5tountrY9PBqlt23Emu07jyxBO/u+Jm+m899OTKJEhd"
    "YnMRnFBiovAj/8ZB99jgc+gNul2S6A+EjSe8dhD522P3Qy5rcbwVF73DKy53lz8KpZ1H1E"
    "mLK89/y2fH+cSFWF7cub54KVTyd5PJdHoyOZgen86OTk5mpwebfTjfVLUhn1/8zPfkcdLw"
    "2U44BwMvNgKxzJD0oE4GIpFsE3yTCp4X+lCr8M+JwjDsPAzAwrbIwlKLoyF4iEBKaACJZW"
    "0TWH/RezE7NhZoiRfon0M2RnPHky/g0IsdSv71y9kNfs/vG/F2A0sM9JtkhEYd+m0/hMZv"
    "Drt+SRejAh5j0zauoi883ksxwm7tFssRYQViNQ+oATmpge49JJLxoU3rln0yh/rs0fcJ24"
    "Ik7HKffiwBXv3srPX3FJEZuxEYnBV0WMsKOqywgg7zVpBLH4jpKLrIQR8pGZiyucNvA3io"
    "JxLYkxYCULOgyscz9VoZAPKjHGogP4D8APLjxZMfv9D7UQHvwS+PqyiPv8IOXZIdyeLAJT"
    "WD40pPUC8Y8uvqrBeQXwf5dTDqO+bXeY5oFaiEBFgsECrTKWkJhSM7iEeysI1XQhWXYwk5"
    "6i3zxw6m3rJlU97sKBo1C9IZynObsnJA1hWcdRxA5FIXF7D327HdCAK4WXAZPvz9BJaRWO"
    "JZy4hkCkbX60VJgdpy2MsK1ALqIlXxA+eowroQ+5EIlVUtEIXlpMAT4KPEzI9dwI3EANgc"
    "sEuiPlhULyKCyxeNtBSofY0vKDZhYDhu0WQvt3ZSQsOra9G8rTMnoV+jfvjcRmQwS0nHyU"
    "TMJLd3IxrTkg0QjZLN9v7yink6ea6burPcaZgzojDOMo8z+OqHUnlFso8Egh96Ffywv8Ir"
    "ks3bxuqu7CechC0vZBHG0heElSSbx1XhJXqmY5thJhAdAtEhEB0C0SEQHdJwdIhlYHdO7Z"
    "UIB5WU6dDnzo/dtLhPri0CMHO09KQGFTWdlB8sPcmdK40doni2UBJRUmaAASSTg7pVgyvL"
    "BueSiXgIk2jt66TM4FK2WqnOzHRDxcKO4x+IS0w1j3b5oZlFskPgs6v2hjbOz3wi90tKHx"
    "SHMN3LFR2FYmkYB/Fx0B2FV0V8LPI1UGoQbJbYJEm5DPD3TLCtdSfSmruF/vzq6jIF/flF"
    "Ftvf3p+/u3516I8D66S7ZU6GtamyCcsxKCqPUIV5VhRgrw+7gR1X8QEUNxSyssD7y2MZ5A"
    "1Cf6B2iMdNi3WoSemaQbrRppp3U7Nnearr2QXbR3mIRkoIIjSq9/RdQr6oOdcLznepCJrZ"
    "SMBwND4c4IgciiNyiIiCJ/IFeCL7iqqkrsgbpitee4VuyKhpXOWC9HVN22vf//gp6e2Mc9"
    "qjWDXIXu/UPwkleJrd//uRc8m+c5PD0haqrVt4bA0UBHkxTGdE8641wcxJSJgsLxknlicJ"
    "6ZGlUDKVSyzJeiMA3EHj3EFJzmS5Z6wsZxKcYTWcYRIlgMhmsfU0lqhOBBkkhLwMx1DeFK"
    "5r3+YEgT3czh5m4qyfSXRlwrt7BnVdvis/02Sivf4Iom7ePRL/B+S4r1T7uIoAi+J3yKZr"
    "1yxY9Absrz95dcd8D5uoRH8EomwPRFlicHLglhMPaakhRp3OZnWCIWez8mBI3paxMB4Lz0"
    "0uh3kjAPzOVn6nHxRlZxO4eXayxD6umL1Dso87OOQvuQvmYK42jjKiYBTLYi3VMYrBWAJj"
    "CYylZxhLPxLLoOtViamUaB1XGUpauh/kKvfpex9XmDiQq/wCN1XIVR7aqBcQz7lcZQj7aW"
    "AlTUW3u8SPtBTyUmfE5PBV8+cNxlfdD7Kj5zXwJXJRS7bO9HfHAJf0Sx1nx1utsL0W2ccS"
    "InLsYYOKt4JcLcjVkhdRyNWCXC1pUZU0V+ujd892xCX7hddEpXaa2izrM67iZK1Nb8WOu7"
    "cbwBJbr/xhyQNI00eTOipT/TwDolaA0gVKFyhdoHTboXQZIsz2KXHXlvNdGTEoQlnGe/U1"
    "kmpkEVPrcbIn+eLyYpKGYORlRmx4oVXNHxi7gUywsGpWbnhYt1VbFVLpukylA6fnqEn+bI"
    "XtByIU6BpLDGH6tn5+d9JuFlTks7KduFy6NN/6q7jn7bWQvNlpoLOy4FuTeqQpr9oqbDZk"
    "xLq0HYLp1Vfb4ZHYOruZaFHjpNhuBY378w01WM84gE0toSDK3cdZOfAhV6u+4EOWRgdO+0"
    "Bq4poWAlzBNw++eZm9yOCbbwPVrb75gnW2AVTfxncaKLDp7UWmuIdwqbghrhv80FzUQ6bH"
    "uCrmIfosnUTnbREPoyuToFDAQQxzj+exITpH2EThDcfofo0eyPp7dEctYmL9bozu9BX7SU"
    "o4Y9i9+DX2Tp5BnLs3o8z4tfeUgriMT5n1id0ziLKAPDoIuoCgCwi62PvG1dNRrxN0wRfb"
    "3HCXE3lh9wGWUWk+uuIRG57QET4bAeCPGuePdjsSEY5CfK7LGng7YEMkMy/rsCF7Cqu36c"
    "oqLG0StowrQ+jjPlutyLONGfeNg+iTiVy2BqI5tRFGwX0Qnxc/IHYrbvmtCDYdxCw2FA4b"
    "mrNeKDjiLG8+Nn/7GnajP5HBcATDEQxHMBzl2JJ6Oup1DEd/mHLjXW45Rv3BdKxhOvLtUs"
    "ROifoPAlwwUcBEARNFUhPljG0JK9+18zY43rjIB5btU2m24E1vJT4xudnM308bXy2YB2Ae"
    "gHkA5oEc20FPR72OeUBMjrlo3HJCarew5Z1GeHOlt4HLUbaMiLcpKQMOp+YdTvzEVqFimr"
    "EEDEfjw3GPXXUpMhobARiMxgcjTMrZJZEoJ9lhLpFm47nb1hi0nUnEb8+0aE13HcUitmJ7"
    "BSkupRZOiTRkFef3YpN8cTk+Oyi8GVHIeZVGv82bNcAaQuKMvIgCDwuJM9KiKmlRy5i2vq"
    "RbeG3eYVyT1DZoC4x2hsb+NOJaQxgG4wjWqDzXFy+F2f5uMplOTyYH0+PT2dHJyez0YLO4"
    "5puqVtnzi5/5QpvSPrbz326BrVOtEbqFfABQnzIT3gZ5JELlxzYCHdqyujmn3ZiypzUs2d"
    "NSQ/a0oGbhomCPvVlhwyhXESOhARms08nJ8Wb14n9UrVc3788uLwsqYBHHKYSzPNQkIQLR"
    "JjtEmzDdZyV4+GcsMaDp25jBGGs+NfGMBcBc3G4uFvKE4qbiRh++9oZ8fGo8t+S0bDj6lZ"
    "ZNODy1LJtwarQVqzNOVgGcUzsXvJPqmizfD1E9ENUjA989YCMHonqGNuq1gv5tfbEQK5mb"
    "EOnQvGVboYeNvvpqVc+2eQGcnWzdnPCAjIYmbN7+B+YM6oDbaLpyK1dkULJyzxoayWZ712"
    "PANixH7NCVWGIIRRFaP2clZcYI6ks5YaiQLY+GVBQX4uqPRBEPY8gLNrJxD8D0hKAbCLrp"
    "G6JdH9UyPMoJQpgghElaVBsNYUqtGnnsr0xyS9l/aiL/S3CPXq0XdWGPF8kaqD/LZXKpmw"
    "+jAk+Jf31c5SAxoh5Nu0WoZ6vRpHOxzdogoxl8H+D7AN+HPPtnT0e9ju+D7brLIvamnCSL"
    "JQYRKZU5UXQ2q0GTsV7l54nytrTVtLTJXAThqP8Q8W3pxFagUIBC6QmiSYW3LqZJGUC1AN"
    "XYcqiPakoGUAWCCggq2VEVOpwqWDUbAHX4Z1OlNpjtyAYrJyBbA9nUJiNT9PSFRlYWZeir"
    "62uiUjtNq5V2GleRhHrcXbHj/k1ThioNiu7CkVr7Jgo3Q1HXtN0IDNC2ndYybacVlu00b9"
    "jCSUZtMjP3VFsrS+wU1NAqxzglNECkj49qAH18VIozb8oFpxZptxXLRCTQae6wYtmUU6vO"
    "qBOcm4+wLqs8tjWNuLjq2EuPqeYfeh7M8iTiqP8Qgke7TiDul8sRvE/bvU91fI7ki6Wzu+"
    "0w6mnJ4TmaezLIpcHDORpxTznCxNbV5agoOThoGVdmBcd92qxzBDZrlzbrI7EdXSwvJCEy"
    "QH2/FcuKf1QCCIfdB4juYS1W4LCCFTjMswJqzJvWziyLRbrP99vPRtlYVtleN7Ov/w/RaT"
    "XP"
)
